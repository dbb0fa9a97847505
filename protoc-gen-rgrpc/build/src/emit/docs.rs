//! Proto comments as rustdoc.
//!
//! Comments are written for protoc's readers, not rustdoc's: brackets would be
//! taken as intra-doc links, `<...>` as HTML, bare URLs are not links, and an
//! indented block would become a Rust doctest. Each of those is rewritten.

use proc_macro2::TokenStream;
use quote::quote;

/// `#[deprecated]` for what the .proto file marks `deprecated = true`.
pub fn deprecated(deprecated: bool) -> TokenStream {
    if deprecated {
        quote::quote!(#[deprecated])
    } else {
        TokenStream::new()
    }
}

/// `#[doc]` attributes for `comment`, or for the `fallback` sentence when there is no comment.
pub fn doc(comment: &str, fallback: impl FnOnce() -> String) -> TokenStream {
    let text = if comment.trim().is_empty() {
        fallback()
    } else {
        clean(comment)
    };
    let lines = text.lines().map(|line| {
        if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        }
    });
    quote!(#(#[doc = #lines])*)
}

/// Rewrites a proto comment as Markdown that means what it says.
pub fn clean(comment: &str) -> String {
    let lines: Vec<&str> = comment.lines().map(str::trim_end).collect();
    // protoc keeps the space after `//`; remove the indentation all lines share.
    let indent = lines
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let lines: Vec<&str> = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect();
    let start = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |i| i + 1);

    let mut out: Vec<String> = Vec::new();
    let mut fenced = false;
    let mut indented = false;
    // The content column of the list item being continued, if any.
    let mut list_item: Option<usize> = None;
    for line in &lines[start..end] {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            if indented {
                out.push("```".into());
                indented = false;
            }
            out.push(if !fenced && info.trim().is_empty() {
                "```text".into()
            } else {
                line.trim_start().into()
            });
            fenced = !fenced;
            continue;
        }
        if fenced {
            out.push((*line).into());
            continue;
        }
        let is_code = line.starts_with("    ") || line.starts_with('\t');
        if is_code && !indented && out.last().is_none_or(|l| l.is_empty()) {
            out.push("```text".into());
            indented = true;
        } else if indented && !is_code && !line.is_empty() {
            close_indented(&mut out);
            indented = false;
        }
        if indented {
            out.push(
                line.strip_prefix("    ")
                    .or_else(|| line.strip_prefix('\t'))
                    .unwrap_or(line)
                    .into(),
            );
        } else if line.is_empty() {
            list_item = None;
            out.push(String::new());
        } else if let Some(content) = list_item_content(line) {
            list_item = Some(content);
            out.push(escape_line(line));
        } else {
            // A lazy continuation of a list item: indent it under the item's text.
            let indent = line.len() - line.trim_start().len();
            let pad = list_item.map_or(0, |content| content.saturating_sub(indent));
            out.push(format!("{}{}", " ".repeat(pad), escape_line(line)));
        }
    }
    if indented {
        close_indented(&mut out);
    }
    if fenced {
        out.push("```".into());
    }
    out.join("\n")
}

/// The column where the text of a Markdown list item starts, when `line` is one.
fn list_item_content(line: &str) -> Option<usize> {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let marker = if rest.starts_with(['*', '-', '+']) {
        1
    } else if digits > 0 && rest[digits..].starts_with(['.', ')']) {
        digits + 1
    } else {
        return None;
    };
    rest[marker..]
        .starts_with(' ')
        .then_some(indent + marker + 1)
}

/// Ends an indented code block, keeping blank lines after it outside the block.
fn close_indented(out: &mut Vec<String>) {
    let blanks = out.iter().rev().take_while(|l| l.is_empty()).count();
    out.truncate(out.len() - blanks);
    out.push("```".into());
    out.extend(std::iter::repeat_n(String::new(), blanks));
}

/// Escapes Markdown link and HTML syntax outside code spans, and makes bare URLs links.
fn escape_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut in_code = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            in_code = !in_code;
        } else if !in_code && c == '[' {
            if let Some(len) = markdown_link(rest) {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
            out.push('\\');
        } else if !in_code && (rest.starts_with("http://") || rest.starts_with("https://")) {
            let len = rest
                .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`' | ')'))
                .unwrap_or(rest.len());
            let url = rest[..len].trim_end_matches(['.', ',', ';', ':', '\'', ']']);
            out.push('<');
            out.push_str(url);
            out.push('>');
            rest = &rest[url.len()..];
            continue;
        } else if !in_code && matches!(c, ']' | '<' | '>' | '\\') {
            out.push('\\');
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The length of a Markdown inline link `[text](target)` at the start of `text`.
fn markdown_link(text: &str) -> Option<usize> {
    let close = text.find(']')?;
    let target = text[close + 1..].strip_prefix('(')?;
    if text[1..close].contains('[') {
        return None;
    }
    let end = target.find(')')?;
    if target[..end].contains(char::is_whitespace) {
        return None;
    }
    Some(close + 2 + end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_indentation_and_blank_edges_are_removed() {
        assert_eq!(
            clean(" Hello.\n\n Second paragraph.\n"),
            "Hello.\n\nSecond paragraph."
        );
        assert_eq!(clean("\n\n One line.\n\n"), "One line.");
    }

    #[test]
    fn brackets_and_html_are_escaped_outside_code() {
        assert_eq!(
            clean(" See [foo] and map<string, int>."),
            r"See \[foo\] and map\<string, int\>."
        );
        assert_eq!(clean(" Use `map<K, V>` here."), "Use `map<K, V>` here.");
    }

    #[test]
    fn markdown_links_are_kept() {
        assert_eq!(
            clean(" A [smear](https://example.com/smear) and [ref][]."),
            r"A [smear](https://example.com/smear) and \[ref\]\[\]."
        );
    }

    #[test]
    fn lazy_list_continuations_are_indented() {
        assert_eq!(clean(" - one\n two\n\n three"), "- one\n  two\n\nthree");
        assert_eq!(clean(" 10. ten\n more"), "10. ten\n    more");
    }

    #[test]
    fn bare_urls_become_links() {
        assert_eq!(
            clean(" See https://example.com/a_b. Or (http://x.org)."),
            "See <https://example.com/a_b>. Or (<http://x.org>)."
        );
    }

    #[test]
    fn indented_blocks_are_text_not_doctests() {
        assert_eq!(
            clean(" Example:\n\n     Foo foo = 1;\n     bar();\n\n After."),
            "Example:\n\n```text\nFoo foo = 1;\nbar();\n```\n\nAfter."
        );
        assert_eq!(clean(" ```\n x[0]\n ```"), "```text\nx[0]\n```");
        assert_eq!(clean(" ```rust\n x\n"), "```rust\nx\n```");
    }

    #[test]
    fn the_fallback_is_used_only_without_a_comment() {
        let with = doc(" Text.", || "Fallback.".into()).to_string();
        assert!(with.contains("\" Text.\""), "{with}");
        let without = doc("  \n", || "Fallback.".into()).to_string();
        assert!(without.contains("\" Fallback.\""), "{without}");
    }
}
