numbers: a table of the numbers 0000 to 2999 one a line (15000 bytes)

Four nested counters: 3 thousands times 10 hundreds times 10 tens times 10 units
Cells 1 to 4 hold the digits as characters; cell 5 a newline; cells 6 to 9 the counters

++++++ [ >++++++++ >++++++++ >++++++++ >++++++++ <<<<- ]   cells 1 to 4 are 48 (digit zero)
>>>>> ++++++++++                                          cell 5 is a newline
> +++                                                     cell 6 counts thousands
[
  > ++++++++++                                            cell 7 counts hundreds
  [
    > ++++++++++                                          cell 8 counts tens
    [
      > ++++++++++                                        cell 9 counts units
      [
        <<<<<<<< .>.>.>.+ >. >>>> -                       print a line; next unit digit
      ]
      <<<<< ---------- <+ >>>>> -                         units back to zero; next ten
    ]
    <<<<< ---------- <+ >>>>> -                           tens back to zero; next hundred
  ]
  <<<<< ---------- <+ >>>>> -                             hundreds back to zero; next thousand
]
