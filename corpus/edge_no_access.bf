edge without access: on a tape of 4 cells the pointer steps past the end and
comes straight back; the step out is the error even though no cell is touched
+++++++++++++++++++++++++++++++++.   33: bang
>>>
>< 
