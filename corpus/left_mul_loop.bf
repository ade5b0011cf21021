left mul loop: a balanced loop that would move cell 0 into cell minus 1

It prints ok then runs the loop with cell 0 set: the first move left fails
+++++++++++[>++++++++++<-]>+.     cell 1 is 111: o
----.                             107: k
[-]++++++++++.                    newline
<+++
Ωμέγα [-<+>]
