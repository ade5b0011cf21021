eof: four reads from input that holds two bytes; the policy decides the rest

Cells 1 to 4 are preset to 42 (a star) so an unchanged cell shows as a star
++++++ [ >+++++++ >+++++++ >+++++++ >+++++++ <<<<- ]
>,.          first input byte
>,.          second input byte
>,.          end of input: the policy decides what the cell holds
>,,.         two more reads after the end: still the policy
>++++++++++. newline
