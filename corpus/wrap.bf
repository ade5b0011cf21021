wrap: cells are bytes that wrap around at 0 and at 255

-.           0 minus 1 is 255: prints byte 255
+.           255 plus 1 is 0: prints byte 0
Count down from zero: 191 decrements wrap to 65 (A)
>
----------------------------------------------------------------------------------------------------
-------------------------------------------------------------------------------------------
.
Add 281 (9 times 31 plus 2) to 65: wraps past 255 to 90 (Z)
>+++++++++ [ <+++++++++++++++++++++++++++++++ >- ] <++.
Cell 3: minus 1 is 255; move it into cell 4 one by one: 255 rounds
>>-[->+<]
>+.          cell 4 is 255; plus one prints byte 0
[+]          runs zero times: the cell is already 0
<+++++[+]    cell 3 counts up from 5 through 255 to 0: 251 rounds
++++++++++.  newline
