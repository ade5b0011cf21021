unmatched close: the second loop closes twice
+[-]
++[-]]
