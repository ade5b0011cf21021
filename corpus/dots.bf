dots: 100 lines of 100 dots each (10100 bytes)

Cells: 1 counts lines; 2 holds a dot (46); 3 holds a newline (10);
4 and 5 rebuild the dot count for every line
++++++++++ [ >++++++++++ >+++++ >+ <<<- ]     cells 1 2 3 are 100 50 10
>> ----                                        cell 2 is 46
<                                              cell 1: the line counter
[
  >>> ++++++++++ [ >++++++++++ <- ] >          cell 5 is 100
  [ <<<.>>> - ]                                print the dot 100 times
  <<.                                          newline from cell 3
  <<-                                          one line fewer
]
