#!/usr/bin/env python3
"""A small BF interpreter standing in for "your own engine" in the bfjit differential-harness docs.

Usage: buggy_bf.py [--tape-len N] [--eof unchanged|zero|max] FILE
Reads the program from FILE and its input from stdin, writes output to stdout, exits 1 (with a
message on stderr) when the pointer leaves the tape, 0 otherwise.

PLANTED BUG (on purpose, for the worked example): `.` writes chr(cell) encoded as UTF-8, so every
cell value of 128 or more comes out as two bytes instead of one. Pass --fixed to disable it.
"""
import sys


def main(argv):
    tape_len, eof, fixed, path = 30000, "unchanged", False, None
    args = iter(argv)
    for arg in args:
        if arg == "--tape-len":
            tape_len = int(next(args))
        elif arg == "--eof":
            eof = next(args)
        elif arg == "--fixed":
            fixed = True
        else:
            path = arg
    with open(path, "rb") as f:
        code = [c for c in f.read().decode("latin-1") if c in "+-<>.,[]"]
    jump, stack = {}, []
    for i, c in enumerate(code):
        if c == "[":
            stack.append(i)
        elif c == "]":
            if not stack:
                sys.stderr.write("unmatched ]\n")
                return 2
            j = stack.pop()
            jump[i], jump[j] = j, i
    if stack:
        sys.stderr.write("unmatched [\n")
        return 2
    data = sys.stdin.buffer.read()
    inp = 0
    tape, ptr, pc, out = [0] * tape_len, 0, 0, bytearray()
    while pc < len(code):
        c = code[pc]
        if c == "+":
            tape[ptr] = (tape[ptr] + 1) & 255
        elif c == "-":
            tape[ptr] = (tape[ptr] - 1) & 255
        elif c == ">":
            if ptr + 1 >= tape_len:
                sys.stdout.buffer.write(out)
                sys.stderr.write("pointer moved past the right end\n")
                return 1
            ptr += 1
        elif c == "<":
            if ptr == 0:
                sys.stdout.buffer.write(out)
                sys.stderr.write("pointer moved left of cell 0\n")
                return 1
            ptr -= 1
        elif c == ".":
            if fixed:
                out.append(tape[ptr])
            else:
                out += chr(tape[ptr]).encode("utf-8")  # the planted bug
        elif c == ",":
            if inp < len(data):
                tape[ptr] = data[inp]
                inp += 1
            elif eof == "zero":
                tape[ptr] = 0
            elif eof == "max":
                tape[ptr] = 255
        elif c == "[" and tape[ptr] == 0:
            pc = jump[pc]
        elif c == "]" and tape[ptr] != 0:
            pc = jump[pc]
        pc += 1
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
