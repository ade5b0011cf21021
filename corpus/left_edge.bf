left edge: the pointer moves left of cell 0 after printing a line

++++++++++ [ >++++++++++ >+++++++++++ >++++++++++ >+ <<<<- ]
>++++++++.   cell 1 is 108: l
>>+.         cell 3 is 101: e
+.           102: f
<++++++.     cell 2 is 116: t
>>.          cell 4 is 10: newline
The pointer walks back to cell 0 and one step further; the failing move
comes after a comment in UTF 8 so its column counts bytes: ég <<<< <
