//! The code map in ARCHITECTURE.md is checked: its third column ("Must not depend on") lists, in
//! backticks, the module paths a row's files must not name — `crate::x` (a module of the row's own
//! crate; `crate::*` is every other module of it), `bfjit_backends::x` or `bfjit_harness::x` (a
//! module of that crate; the bare crate name is all of it). This test reads the table, scans every
//! source file of `backends/src` and `harness/src` (test code exempt: `tests.rs` and `*_tests.rs` files and items
//! under `#[cfg(test)]`), resolves each path it names (`use` trees, inline `crate::`/`super::` paths)
//! and fails on every forbidden one.

use std::path::{Path, PathBuf};

/// A module path in a crate: `("bfjit_backends", ["ir", "eval"])`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ModPath {
    krate: String,
    segments: Vec<String>,
}

/// One forbidden dependency of a row.
#[derive(Clone, Debug)]
enum Forbidden {
    /// This module (or anything under it).
    Module(ModPath),
    /// Every module of this crate except the file's own top-level module.
    AnyOther(String),
}

/// One row of the code map: the files it covers and what they must not name.
#[derive(Debug)]
struct Rule {
    paths: Vec<String>,
    forbidden: Vec<Forbidden>,
    text: String,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The crate a repository-relative source path belongs to (`bfjit` is the binary).
fn crate_of(path: &str) -> &'static str {
    if path.starts_with("backends/src/") {
        "bfjit_backends"
    } else if path == "harness/src/main.rs"
        || path.starts_with("harness/src/cli/")
        || path.starts_with("harness/src/bin/")
    {
        "bfjit"
    } else {
        "bfjit_harness"
    }
}

/// The module path of a source file inside its crate (`harness/src/oracle/tally.rs` → oracle, tally).
fn module_of(path: &str) -> Vec<String> {
    let rest = path
        .strip_prefix("backends/src/")
        .or_else(|| path.strip_prefix("harness/src/"))
        .unwrap_or(path);
    let rest = rest.strip_prefix("bin/").unwrap_or(rest);
    let mut segments: Vec<String> = rest
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if matches!(
        segments.last().map(String::as_str),
        Some("mod" | "lib" | "main" | "bfjit_testing")
    ) {
        segments.pop();
    }
    segments
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// Reads the code map's rows with at least one forbidden path.
fn rules(doc: &str) -> Vec<Rule> {
    let section = doc
        .split("## Code map")
        .nth(1)
        .expect("ARCHITECTURE.md has a code map");
    let mut rules = Vec::new();
    for line in section.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        if cols.len() < 4 || cols[1].starts_with("---") || cols[1] == "Folder / module" {
            continue;
        }
        // `backends/src/dynasm_simple/`, `handjit/`: a short path is a sibling of the one before.
        let mut paths: Vec<String> = Vec::new();
        for p in backticked(cols[1]) {
            let top = [
                "backends/",
                "harness/",
                "benches/",
                "fuzz/",
                "corpus/",
                "docs/",
            ];
            if top.iter().any(|t| p.starts_with(t)) {
                paths.push(p);
            } else if let Some(prev) = paths.last() {
                let parent = Path::new(prev.trim_end_matches('/')).parent().unwrap();
                paths.push(format!("{}/{p}", parent.display()));
            }
        }
        let Some(first) = paths.first() else { continue };
        let own_crate = crate_of(first).to_string();
        let forbidden: Vec<Forbidden> = backticked(cols[3])
            .into_iter()
            .map(|f| parse_forbidden(&f, &own_crate))
            .collect();
        if !forbidden.is_empty() {
            rules.push(Rule {
                paths,
                forbidden,
                text: cols[3].to_string(),
            });
        }
    }
    rules
}

fn parse_forbidden(text: &str, own_crate: &str) -> Forbidden {
    let mut segments: Vec<String> = text.split("::").map(str::to_string).collect();
    let head = segments.remove(0);
    let krate = match head.as_str() {
        "crate" => own_crate.to_string(),
        "bfjit_backends" | "bfjit_harness" => head,
        _ => panic!(
            "a forbidden path starts with crate::, bfjit_backends:: or bfjit_harness::: `{text}`"
        ),
    };
    if segments == ["*"] {
        Forbidden::AnyOther(krate)
    } else {
        Forbidden::Module(ModPath { krate, segments })
    }
}

/// The code with comments, string and character literals blanked out.
fn strip(source: &str) -> String {
    let s: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == '/' && s.get(i + 1) == Some(&'/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && s.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < s.len() && !(s[i] == '*' && s[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (s.get(i + 1) == Some(&'"') || s.get(i + 1) == Some(&'#')) {
            let mut j = i + 1;
            let mut hashes = 0;
            while s.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if s.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= s.len() {
                    break;
                }
                if s[j] == '"' && (0..hashes).all(|h| s.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < s.len() && s[i] != '"' {
                i += if s[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            if s.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < s.len() && s[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if s.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The code without items under `#[cfg(test)]` (a `mod tests;` line or a braced block).
fn without_tests(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let semi = after.find(';');
        let brace = after.find('{');
        let end = match (semi, brace) {
            (Some(s), Some(b)) if s < b => s + 1,
            (Some(s), None) => s + 1,
            (_, Some(b)) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (i, ch) in after[b..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, None) => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand_use(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), tree)];
    while let Some((prefix, tree)) = stack.pop() {
        match tree.find('{') {
            None => {
                let path = tree.split(" as ").next().unwrap_or(&tree);
                out.push(format!("{prefix}{path}"));
            }
            Some(open) => {
                let head = &tree[..open];
                let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
                let mut depth = 0;
                let mut start = 0;
                let mut parts = Vec::new();
                for (i, ch) in inner.char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            parts.push(inner[start..i].to_string());
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                parts.push(inner[start..].to_string());
                for part in parts.into_iter().filter(|p| !p.is_empty()) {
                    stack.push((format!("{prefix}{head}"), part));
                }
            }
        }
    }
    out
}

/// Every path the code names that starts with `crate`, `super`, `bfjit_backends` or `bfjit_harness`.
fn named_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = String::new();
    let mut remaining = code;
    while let Some(at) = find_word(remaining, "use") {
        rest.push_str(&remaining[..at]);
        let after = &remaining[at + 3..];
        let end = after.find(';').unwrap_or(after.len());
        paths.extend(expand_use(&after[..end]));
        remaining = &after[(end + 1).min(after.len())..];
    }
    rest.push_str(remaining);
    // Inline paths: identifiers joined by `::`.
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if boundary && (chars[i].is_alphabetic() || chars[i] == '_') {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_alphanumeric()
                    || chars[j] == '_'
                    || (chars[j] == ':' && chars.get(j + 1) == Some(&':')))
            {
                j += if chars[j] == ':' { 2 } else { 1 };
            }
            let word: String = chars[i..j].iter().collect();
            if word.contains("::") {
                paths.push(word.trim_end_matches("::").to_string());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    paths
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find(word).map(|a| a + from) {
        let before = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        let after = bytes
            .get(at + word.len())
            .is_none_or(|b| b.is_ascii_whitespace());
        if before && after {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// Resolves a named path to a module path, or `None` for paths that stay inside the file's module
/// (`self::`, a child module, an external crate other than the two).
fn resolve(path: &str, krate: &str, module: &[String]) -> Option<ModPath> {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let (head, tail) = segments.split_first()?;
    let tail: Vec<String> = tail.iter().map(|s| s.to_string()).collect();
    match *head {
        "crate" => Some(ModPath {
            krate: krate.to_string(),
            segments: tail,
        }),
        "bfjit_backends" | "bfjit_harness" => Some(ModPath {
            krate: head.to_string(),
            segments: tail,
        }),
        "super" => {
            // A `mod.rs` file is its folder's module; `super` from it is the folder's parent.
            let mut base: Vec<String> = module.to_vec();
            let mut rest = segments.as_slice();
            while let Some((&"super", more)) = rest.split_first() {
                base.pop();
                rest = more;
            }
            base.extend(rest.iter().map(|s| s.to_string()));
            Some(ModPath {
                krate: krate.to_string(),
                segments: base,
            })
        }
        _ => None,
    }
}

fn violates(target: &ModPath, forbidden: &Forbidden, own_module: &[String]) -> bool {
    match forbidden {
        Forbidden::Module(m) => m.krate == target.krate && target.segments.starts_with(&m.segments),
        Forbidden::AnyOther(krate) => {
            *krate == target.krate
                && target
                    .segments
                    .first()
                    .is_some_and(|top| Some(top) != own_module.first())
        }
    }
}

/// The forbidden paths one file names, as messages.
fn check_file(path: &str, source: &str, rules: &[Rule]) -> Vec<String> {
    let applicable: Vec<&Rule> = rules
        .iter()
        .filter(|r| {
            r.paths
                .iter()
                .any(|p| path == p || (p.ends_with('/') && path.starts_with(p.as_str())))
        })
        .collect();
    if applicable.is_empty() {
        return Vec::new();
    }
    let krate = crate_of(path);
    let module = module_of(path);
    let code = without_tests(&strip(source));
    let mut found = Vec::new();
    let mut named_paths = named_paths(&code);
    named_paths.sort();
    named_paths.dedup();
    for named in named_paths {
        let Some(target) = resolve(&named, krate, &module) else {
            continue;
        };
        for rule in &applicable {
            if rule.forbidden.iter().any(|f| violates(&target, f, &module)) {
                found.push(format!(
                    "{path} names `{named}`, which its code-map row forbids ({})",
                    rule.text
                ));
            }
        }
    }
    found
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path
                .file_name()
                .is_some_and(|n| n != "tests.rs" && !n.to_string_lossy().ends_with("_tests.rs"))
        {
            out.push(path);
        }
    }
}

#[test]
fn the_code_map_forbidden_dependencies_hold() {
    let root = repo();
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let rules = rules(&doc);
    for crate_dir in ["backends/src/", "harness/src/"] {
        assert!(
            rules
                .iter()
                .any(|r| r.paths.iter().any(|p| p.starts_with(crate_dir))),
            "no code-map row constrains {crate_dir}"
        );
    }
    // Every row names files that exist, so a renamed module cannot silently escape its row.
    for rule in &rules {
        for path in &rule.paths {
            assert!(
                root.join(path).exists(),
                "code-map row names {path}, which does not exist"
            );
        }
    }
    let mut files = Vec::new();
    source_files(&root.join("backends/src"), &mut files);
    source_files(&root.join("harness/src"), &mut files);
    let mut violations = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap().display().to_string();
        let source = std::fs::read_to_string(file).unwrap();
        if rules.iter().any(|r| {
            r.paths
                .iter()
                .any(|p| relative == *p || (p.ends_with('/') && relative.starts_with(p.as_str())))
        }) {
            checked += 1;
        }
        violations.extend(check_file(&relative, &source, &rules));
    }
    assert!(
        checked > 40,
        "only {checked} files fall under a code-map row"
    );
    assert!(
        violations.is_empty(),
        "forbidden dependencies:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_finds_what_it_must() {
    let doc =
        "## Code map\n\n| Folder / module | What | Must not depend on |\n| --- | --- | --- |\n\
               | `harness/src/case.rs` | leaf | `crate::*` |\n\
               | `harness/src/oracle/` | oracle | `crate::generate`, `bfjit_backends::jit` |\n\
               | `backends/src/dynasm_simple/`, `handjit/` | jits | `crate::optimizer::mul` |\n";
    let rules = rules(doc);
    assert_eq!(rules.len(), 3);
    assert_eq!(
        rules[2].paths,
        ["backends/src/dynasm_simple/", "backends/src/handjit/"]
    );
    let check = |path: &str, source: &str| check_file(path, source, &rules).len();
    // A use tree, an inline path, `super::` resolution, and the other crate.
    assert_eq!(
        check("harness/src/case.rs", "use crate::{oracle::Class, x};"),
        2
    );
    assert_eq!(
        check("harness/src/case.rs", "use bfjit_backends::Config;"),
        0
    );
    assert_eq!(
        check(
            "harness/src/oracle/tally.rs",
            "fn f() { crate::generate::Shape::x(); }"
        ),
        1
    );
    assert_eq!(
        check("harness/src/oracle/tally.rs", "use super::super::generate;"),
        1
    );
    assert_eq!(
        check(
            "harness/src/oracle/tally.rs",
            "use super::report::CaseReport;"
        ),
        0
    );
    assert_eq!(
        check(
            "harness/src/oracle/mod.rs",
            "use bfjit_backends::jit::JitState as J;"
        ),
        1
    );
    assert_eq!(
        check(
            "backends/src/handjit/mod.rs",
            "use crate::optimizer::{mul::fold, scan};"
        ),
        1
    );
    // Comments, strings and test code are exempt.
    let exempt = "// use crate::generate;\nconst S: &str = \"crate::generate\";\n\
                  #[cfg(test)]\nmod tests {\n    use crate::generate::Shape;\n}\n";
    assert_eq!(check("harness/src/oracle/mod.rs", exempt), 0);
    assert_eq!(
        check(
            "harness/src/oracle/mod.rs",
            "#[cfg(test)]\nmod tests;\nuse crate::generate;"
        ),
        1
    );
}
