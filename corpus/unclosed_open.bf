unclosed open: the outermost open bracket is named and not the innermost
+[-]
 [ [-] [
