cat: copies its input to its output

The cell is cleared before every read so that end of input reads as zero
under the default policy (unchanged) as well as under zero
,[.[-],]
