reverse: prints its input backwards then forwards (needs eof = zero)

>,[>,]       read into cells 1 2 3 and so on until end of input reads zero
<[.<]        print backwards down to cell 0 (which stays zero)
++++++++++.  newline
[-]          clear cell 0 again
>[>]         scan right to the zero after the text
<[<]         scan left back to cell 0
>[.>]        print forwards
++++++++++.  newline in the zero cell after the text
