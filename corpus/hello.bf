hello: prints Hello comma space World and a newline

Cell 0 counts eight rounds; each round adds 9 to cell 1 and 12 to cell 2
and 6 to cell 3 and 4 to cell 4 and 1 to cell 5
++++++++ [ >+++++++++ >++++++++++++ >++++++ >++++ >+ <<<<<- ]
after the loop: 72 96 48 32 8 in cells 1 to 5

>.               cell 1 is 72: H
>+++++.          cell 2 is 101: e
+++++++..        108 twice: l l
+++.             111: o
>----.           cell 3 is 44: comma
>.               cell 4 is 32: space
<<<+++++++++++++++.   cell 1 is 87: W
>.               cell 2 is still 111: o
+++.             114: r
------.          108: l
--------.        100: d
>>+.             cell 4 is 33: bang
>++.             cell 5 is 10: newline
