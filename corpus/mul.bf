mul: loops that add multiples of one cell to others; every result is printed

+++++++++++++ [->+++++>--<<] >.   cell 0 is 13: cell 1 gets 65 (A) and cell 2 gets 256 minus 26
>[+<+>]<.                         cell 2 counts up to 0 in 26 rounds adding 1 to cell 1 each: 91
[>+>+++<<-]                       cell 1 into cell 2 (91) and 3 times into cell 3 (273 wraps to 17)
>>[-<<+++>>]<<.                   cell 3 times 3 back into cell 1: 51 (the digit 3)
>[->-<]>.                         cell 3 loses 91: wraps to 165
<+++++[>+++[->++<]<-]>>.          five rounds of an outer loop with a multiply loop inside:
                                  round 1 doubles 168 into cell 4 and rounds 2 to 5 double 3:
                                  336 plus 24 wraps to 104 (h)
-[-]                              from 104: 103 rounds to zero
-[-]+[+]                          255 rounds down to zero then 255 rounds up to zero
++++++++++.                       newline
