//! Comments: their text and the @mentions in it.

use super::Invalid;

/// The longest comment, in characters.
pub const MAX_COMMENT: usize = 10_000;

/// A comment's Markdown, trimmed; not empty and not too long.
pub fn parse_comment(raw: &str) -> Result<String, Invalid> {
    let body = raw.trim();
    if body.is_empty() {
        return Err(Invalid("Write something first.".into()));
    }
    if body.chars().count() > MAX_COMMENT {
        return Err(Invalid(format!("Keep the comment under {MAX_COMMENT} characters.")));
    }
    Ok(body.to_owned())
}

/// The handles mentioned in a text (`@edith`, `@edith.editor`), lower-cased, each once, in order.
/// An `@` inside a word (an email address) is not a mention.
pub fn mentions(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut previous = ' ';
    for (i, c) in text.char_indices() {
        if c == '@' && !previous.is_alphanumeric() && previous != '@' {
            let rest = &text[i + 1..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))).unwrap_or(rest.len());
            let handle = rest[..end].trim_end_matches(['.', '-', '_']).to_lowercase();
            if !handle.is_empty() && !found.contains(&handle) {
                found.push(handle);
            }
        }
        previous = c;
    }
    found
}

/// The handles that mention a member: the part of their email before the `@`, their name
/// without spaces, and their name's words joined by dots (`edith`, `edith.editor`, `editheditor`).
/// A first name alone (`@edith`) is added by the caller when it is unique in the organization.
pub fn handles_of(display_name: &str, email: &str) -> Vec<String> {
    let words: Vec<String> = display_name.split_whitespace().map(str::to_lowercase).collect();
    let mut out = vec![email.split('@').next().unwrap_or_default().to_lowercase(), words.concat(), words.join(".")];
    out.retain(|h| !h.is_empty());
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mentions_but_not_email_addresses() {
        assert_eq!(
            mentions("Thanks @Edith, and @adam.admin. Mail me at olivia@example.com or ask @edith again. @"),
            ["edith", "adam.admin"]
        );
        assert_eq!(mentions("(@victor) @@nope"), ["victor"]);
    }

    #[test]
    fn a_member_answers_to_several_handles() {
        assert_eq!(handles_of("Edith Editor", "editor@demo.cairn.test"), ["editor", "editheditor", "edith.editor"]);
        assert_eq!(handles_of("Ada", "ada@example.com"), ["ada"]);
    }

    #[test]
    fn comments_need_text() {
        assert!(parse_comment("  ").is_err());
        assert_eq!(parse_comment(" Looks good ").unwrap(), "Looks good");
        assert!(parse_comment(&"x".repeat(MAX_COMMENT + 1)).is_err());
    }
}
