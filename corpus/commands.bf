commands: uses all eight commands
Input is three letters; each is printed one higher then one lower again

,+.          read the first letter and print its successor
>,+.         the second
>,+.         the third
>++++++++++. a newline (10)
<<<-.        back to the first letter: print it as read
>-.>-.       the second and third as read
>.           the newline again
[-]          and clear it: a loop that runs ten times
