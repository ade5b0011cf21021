right edge: on a tape of 16 cells a scan runs off the right end

Cells 1 to 15 get 64 each (16 rounds of 4)
++++++++++++++++ [ >++++>++++>++++>++++>++++>++++>++++>++++>++++>++++>++++>++++>++++>++++>++++
                   <<<<<<<<<<<<<<<- ]
Print A to O: cell i gets i more
>+. >++. >+++. >++++. >+++++. >++++++. >+++++++. >++++++++. >+++++++++. >++++++++++.
>+++++++++++. >++++++++++++. >+++++++++++++. >++++++++++++++. >+++++++++++++++.
<<<<<<<<<<<<<<< ++++++++++.   cell 0: newline
>[>]          from cell 1 scan right over nonzero cells: the move from cell 15 fails
