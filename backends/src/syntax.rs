//! Parsing BF source bytes into a [`Program`]: the command tree with source positions.
//!
//! The tree is stored flat: commands in source order, and each bracket knows the index of its partner.
//! That is a complete encoding of the loop tree which no consumer needs recursion to walk, so a million
//! nested `[` parse, lower and run without touching the native stack (and drop without recursion).

use std::fmt;
use std::sync::Arc;

/// One of the eight BF commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmdKind {
    /// `+`: add one to the current cell (wrapping).
    Inc,
    /// `-`: subtract one from the current cell (wrapping).
    Dec,
    /// `<`: move the pointer one cell left.
    Left,
    /// `>`: move the pointer one cell right.
    Right,
    /// `.`: output the current cell.
    Output,
    /// `,`: read one byte into the current cell (EOF per the configured policy).
    Input,
    /// `[`: jump past the matching `]` if the current cell is zero.
    Open,
    /// `]`: jump back past the matching `[` if the current cell is not zero.
    Close,
}

impl CmdKind {
    /// The command for a source byte, or `None` for a comment byte.
    pub fn from_byte(byte: u8) -> Option<CmdKind> {
        Some(match byte {
            b'+' => CmdKind::Inc,
            b'-' => CmdKind::Dec,
            b'<' => CmdKind::Left,
            b'>' => CmdKind::Right,
            b'.' => CmdKind::Output,
            b',' => CmdKind::Input,
            b'[' => CmdKind::Open,
            b']' => CmdKind::Close,
            _ => return None,
        })
    }

    /// The source character of this command.
    pub fn as_char(self) -> char {
        match self {
            CmdKind::Inc => '+',
            CmdKind::Dec => '-',
            CmdKind::Left => '<',
            CmdKind::Right => '>',
            CmdKind::Output => '.',
            CmdKind::Input => ',',
            CmdKind::Open => '[',
            CmdKind::Close => ']',
        }
    }
}

/// One command of a parsed program: 9 bytes, packed (a program holds one per source command, so
/// its size is the parsed program's memory; fields are read by value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, packed)]
pub struct Cmd {
    /// Which command this is.
    pub kind: CmdKind,
    /// Byte offset of the command in the source.
    pub offset: u32,
    /// For `[` the index of its `]`, for `]` the index of its `[`; zero otherwise.
    pub partner: u32,
}

/// A position in the source: byte offset plus 1-based line and column (columns count bytes).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Position {
    /// Byte offset from the start of the source.
    pub offset: usize,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, in bytes.
    pub column: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a source text is not a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// A `[` with no matching `]` (the outermost one is named).
    UnclosedOpen {
        /// Where the `[` stands.
        position: Position,
    },
    /// A `]` with no matching `[`.
    UnmatchedClose {
        /// Where the `]` stands.
        position: Position,
    },
    /// The source is larger than the 4 GiB that positions can address.
    TooLarge {
        /// The source length in bytes.
        len: usize,
    },
}

impl ParseError {
    /// The source position the error names, if any.
    pub fn position(&self) -> Option<Position> {
        match self {
            ParseError::UnclosedOpen { position } | ParseError::UnmatchedClose { position } => {
                Some(*position)
            }
            ParseError::TooLarge { .. } => None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnclosedOpen { position } => {
                write!(f, "unmatched '[' at {position}: it has no closing ']'")
            }
            ParseError::UnmatchedClose { position } => {
                write!(
                    f,
                    "unmatched ']' at {position}: there is no '[' open before it"
                )
            }
            ParseError::TooLarge { len } => {
                write!(f, "program of {len} bytes is too large (at most 4 GiB)")
            }
        }
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug)]
struct ProgramData {
    source: Vec<u8>,
    cmds: Vec<Cmd>,
    line_starts: Vec<u32>,
}

/// A parsed BF program: its source, its commands and their matched brackets. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Program {
    data: Arc<ProgramData>,
}

impl Program {
    /// Parses source bytes; every byte that is not one of `+-<>.,[]` is a comment.
    pub fn parse(source: impl Into<Vec<u8>>) -> Result<Program, ParseError> {
        let source = source.into();
        if u32::try_from(source.len()).is_err() {
            return Err(ParseError::TooLarge { len: source.len() });
        }
        let mut line_starts = vec![0u32];
        // Sized exactly up front: a large program never holds a doubled, half-empty command vector.
        let count = source
            .iter()
            .filter(|&&b| CmdKind::from_byte(b).is_some())
            .count();
        let mut cmds: Vec<Cmd> = Vec::with_capacity(count);
        let mut open_stack: Vec<u32> = Vec::new();
        for (offset, &byte) in source.iter().enumerate() {
            if byte == b'\n' {
                line_starts.push(offset as u32 + 1);
            }
            let Some(kind) = CmdKind::from_byte(byte) else {
                continue;
            };
            let index = cmds.len() as u32;
            let mut partner = 0;
            match kind {
                CmdKind::Open => open_stack.push(index),
                CmdKind::Close => {
                    let Some(open) = open_stack.pop() else {
                        let position = position_in(&line_starts, offset);
                        return Err(ParseError::UnmatchedClose { position });
                    };
                    cmds[open as usize].partner = index;
                    partner = open;
                }
                _ => {}
            }
            cmds.push(Cmd {
                kind,
                offset: offset as u32,
                partner,
            });
        }
        if let Some(&outermost) = open_stack.first() {
            let offset = cmds[outermost as usize].offset as usize;
            return Err(ParseError::UnclosedOpen {
                position: position_in(&line_starts, offset),
            });
        }
        Ok(Program {
            data: Arc::new(ProgramData {
                source,
                cmds,
                line_starts,
            }),
        })
    }

    /// The source bytes the program was parsed from.
    pub fn source(&self) -> &[u8] {
        &self.data.source
    }

    /// The commands in source order.
    pub fn cmds(&self) -> &[Cmd] {
        &self.data.cmds
    }

    /// The number of commands (comment bytes excluded).
    pub fn len(&self) -> usize {
        self.data.cmds.len()
    }

    /// Whether the program has no commands at all.
    pub fn is_empty(&self) -> bool {
        self.data.cmds.is_empty()
    }

    /// The source position of command number `cmd`.
    pub fn position_of_cmd(&self, cmd: usize) -> Position {
        self.position_of_offset(self.data.cmds[cmd].offset as usize)
    }

    /// The source position of a byte offset.
    pub fn position_of_offset(&self, offset: usize) -> Position {
        position_in(&self.data.line_starts, offset)
    }

    /// The source line a position stands on followed by a caret under its column, for diagnostics.
    pub fn snippet(&self, position: Position) -> String {
        snippet(&self.data.source, position)
    }
}

fn position_in(line_starts: &[u32], offset: usize) -> Position {
    let line_index = line_starts.partition_point(|&start| start as usize <= offset) - 1;
    Position {
        offset,
        line: line_index as u32 + 1,
        column: (offset - line_starts[line_index] as usize) as u32 + 1,
    }
}

/// Renders the source line of `position` with a caret under its column, compiler style.
///
/// The line is shown one character per source character: printable ASCII as itself, a tab or other
/// control byte as a space, and every other character (a multi-byte UTF-8 character, or each byte
/// of invalid UTF-8) as `?`, so the caret lines up in any terminal whatever bytes precede it. A line
/// longer than the window is cut around the column, with `...` only on the sides that were cut.
pub fn snippet(source: &[u8], position: Position) -> String {
    let offset = position.offset.min(source.len());
    let start = offset.saturating_sub(position.column as usize - 1);
    let end = source[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(source.len(), |n| start + n);
    // Only the bytes that can reach the window are decoded (a character is at most 4 bytes, and one
    // more than the window's width on a cut side keeps its `...`), so a 100 MB line costs nothing.
    let reach = 4 * (WIDTH + 1);
    let from = offset.saturating_sub(reach).max(start);
    let to = offset.saturating_add(reach).min(end);
    let mut line = display_chars(&source[from..offset]);
    let caret = line.len() + 1;
    line.extend(display_chars(&source[offset..to]));
    while line.last() == Some(&' ') && line.len() >= caret {
        line.pop();
    }
    let (shown, caret_col) = window(&line, caret);
    let gutter = position.line.to_string();
    let pad = " ".repeat(gutter.len());
    format!(
        "{pad} |\n{gutter} | {shown}\n{pad} | {}^",
        " ".repeat(caret_col.saturating_sub(1))
    )
}

/// The most characters of a source line a snippet shows.
const WIDTH: usize = 100;

/// One display character per source character (see [`snippet`]).
fn display_chars(bytes: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_ascii_control() => ' ',
            _ => '?',
        })
        .collect()
}

/// A window of at most `WIDTH` characters around 1-based `column`, marked `...` where cut; returns it
/// with the column of `column` inside it.
fn window(chars: &[char], column: usize) -> (String, usize) {
    let column = column.min(chars.len() + 1);
    if chars.len() <= WIDTH {
        return (chars.iter().collect(), column);
    }
    let from = column.saturating_sub(WIDTH / 2).min(chars.len() - WIDTH);
    let to = from + WIDTH;
    let mut shown = String::new();
    let mut caret = column - from;
    if from > 0 {
        shown.push_str("...");
        caret += 3;
    }
    shown.extend(&chars[from..to]);
    if to < chars.len() {
        shown.push_str("...");
    }
    (shown, caret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_ignored_and_offsets_kept() {
        let p = Program::parse("a+\nb[-]").unwrap();
        let kinds: Vec<_> = p.cmds().iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [CmdKind::Inc, CmdKind::Open, CmdKind::Dec, CmdKind::Close]
        );
        assert_eq!({ p.cmds()[1].offset }, 4);
        assert_eq!({ p.cmds()[1].partner }, 3);
        assert_eq!({ p.cmds()[3].partner }, 1);
        let pos = p.position_of_cmd(1);
        assert_eq!((pos.line, pos.column), (2, 2));
    }

    #[test]
    fn unmatched_close_names_its_position() {
        let err = Program::parse("+\n +]").unwrap_err();
        assert_eq!(
            err,
            ParseError::UnmatchedClose {
                position: Position {
                    offset: 4,
                    line: 2,
                    column: 3
                }
            }
        );
        assert!(err.to_string().contains("2:3"));
    }

    #[test]
    fn unclosed_open_names_the_outermost() {
        let err = Program::parse("x[[\n[]").unwrap_err();
        assert_eq!(err.position().unwrap().column, 2);
        assert_eq!(err.position().unwrap().line, 1);
    }

    #[test]
    fn million_nested_loops_parse() {
        let n = 1_000_000;
        let mut src = vec![b'['; n];
        src.extend(std::iter::repeat_n(b']', n));
        let p = Program::parse(src).unwrap();
        assert_eq!(p.cmds()[0].partner as usize, 2 * n - 1);
        drop(p);
    }

    #[test]
    fn snippet_points_at_the_column() {
        let p = Program::parse("++\n  ++").unwrap();
        let s = p.snippet(p.position_of_cmd(2));
        assert_eq!(s, "  |\n2 |   ++\n  |   ^");
    }

    #[test]
    fn caret_lines_up_after_invalid_utf8_and_multibyte_characters() {
        for prefix in [&b"\xff\xfe"[..], "é€".as_bytes(), b"\t\x01", b"\xe2\x82"] {
            let mut src = prefix.to_vec();
            src.extend_from_slice(b"ab]");
            let err = Program::parse(src.clone()).unwrap_err();
            let s = snippet(&src, err.position().unwrap());
            let lines: Vec<&str> = s.lines().collect();
            let caret = lines[2].find('^').unwrap();
            let shown: Vec<char> = lines[1].chars().collect();
            let caret_chars = lines[2][..caret].chars().count();
            assert_eq!(shown[caret_chars], ']', "{prefix:?}: {s}");
        }
    }

    #[test]
    fn long_lines_are_cut_only_where_something_was_cut() {
        let mut src = vec![b'+'; 300];
        src[0] = b']';
        let err = Program::parse(src.clone()).unwrap_err();
        let s = snippet(&src, err.position().unwrap());
        let shown = s.lines().nth(1).unwrap();
        assert!(shown.starts_with("1 | ]"), "{s}");
        assert!(shown.ends_with("..."), "{s}");
        assert!(s.lines().nth(2).unwrap().ends_with("| ^"), "{s}");

        let mut src = vec![b'+'; 300];
        src[299] = b']';
        let err = Program::parse(src.clone()).unwrap_err();
        let s = snippet(&src, err.position().unwrap());
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines[1].starts_with("1 | ..."), "{s}");
        assert!(lines[1].ends_with(']'), "{s}");
        assert_eq!(lines[2].find('^').unwrap(), lines[1].len() - 1, "{s}");

        let mut src = vec![b'+'; 300];
        src[150] = b']';
        let err = Program::parse(src.clone()).unwrap_err();
        let s = snippet(&src, err.position().unwrap());
        let lines: Vec<&str> = s.lines().collect();
        assert!(
            lines[1].starts_with("1 | ...") && lines[1].ends_with("..."),
            "{s}"
        );
        assert_eq!(&lines[1][lines[2].find('^').unwrap()..][..1], "]", "{s}");
    }

    #[test]
    fn a_huge_line_of_multibyte_characters_is_cut_with_the_caret_in_place() {
        let mut src = "é".repeat(1_000_000).into_bytes();
        src.push(b']');
        src.extend("€".repeat(1_000).into_bytes());
        let err = Program::parse(src.clone()).unwrap_err();
        let s = snippet(&src, err.position().unwrap());
        let lines: Vec<&str> = s.lines().collect();
        assert!(
            lines[1].starts_with("1 | ...") && lines[1].ends_with("..."),
            "{s}"
        );
        let caret = lines[2].find('^').unwrap();
        assert_eq!(&lines[1][caret..caret + 1], "]", "{s}");
        assert!(lines[1].len() < 120, "{s}");
    }
}
