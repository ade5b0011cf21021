scans: loops that only move the pointer with strides 1 and 2 and 3

>>+>>+>>+>>+>>+>>+>>+>>+>>+>>+      ten markers in the even cells 2 to 20; at cell 20
[<<]                                stride 2 left: stops at cell 0
>++++++++[<++++++++>-]<+.           cell 0 is 65: A
>>[>>]                              stride 2 right from cell 2: stops at cell 22
>++++++++[<++++++++>-]<++.          cell 22 is 66: B
[-]<<                               clear it and go back to cell 20
[<]                                 stride 1 left: cell 19 is zero so it stops at once
<++++++++[>+++++++<-]>++++.         cell 18 still holds a marker so that is 9 rounds of 7: cell 19 is 67: C
[-]>>>>>>>>>>>                      clear it and go to cell 30
+>>>+>>>+>>>+                       markers in cells 30 33 36 39; at cell 39
[<<<]                               stride 3 left: stops at cell 27
<++++++++[>++++++++<-]>++++.        cell 27 is 68: D
[-]>+>+<                            clear it; mark cells 28 and 29; at cell 28
[>]                                 stride 1 right over cells 28 29 30: stops at cell 31
>++++++++[<++++++++>-]<+++++.       cell 31 is 69: E
>++++++++++.                        newline from cell 32
