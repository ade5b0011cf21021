odd step: a loop that subtracts 2 from an odd cell never reaches zero

It prints odd then spins until the fuel budget (1000) is spent; an optimizer
that treated this loop like a clearing loop would wrongly finish
++++++++++[>+++++++++++>++++++++++<<-]>+.    cell 1 is 111: o
>.                                           cell 2 is 100: d
.                                            d
[-]++++++++++.                               newline
[-]+++[--]
