//! Splitting data-sized text into messages Telegram accepts.
//!
//! A message may carry at most 4096 characters (Telegram counts UTF-16 code units after it has
//! parsed the HTML). Everything whose length depends on data — goods, order lists, audit
//! pages, stock listings — goes through [`split_message`] rather than each caller guessing.
//! Counting the raw HTML is conservative: tags and entities only shrink when parsed.

/// Telegram's limit for one message's text.
pub const MESSAGE_LIMIT: usize = 4096;
/// Telegram's limit for a photo's or document's caption.
pub const CAPTION_LIMIT: usize = 1024;

/// Length as Telegram counts it.
pub fn telegram_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Splits `text` into pieces of at most `limit` UTF-16 units, at line boundaries where it can.
///
/// Lines stay whole unless one line alone is longer than `limit`; such a line is cut at
/// character boundaries (so a line that may be that long must not carry HTML tags, only
/// escaped text). Blank lines at a cut are dropped, so no piece starts or ends empty.
pub fn split_message(text: &str, limit: usize) -> Vec<String> {
    assert!(limit > 0, "a message limit must be positive");
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.split('\n') {
        let line_len = telegram_len(line);
        let joined_len = if current.is_empty() {
            line_len
        } else {
            current_len + 1 + line_len
        };
        if joined_len <= limit {
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(line);
            current_len = joined_len;
            continue;
        }
        push_piece(&mut pieces, std::mem::take(&mut current));
        if line_len <= limit {
            current.push_str(line);
            current_len = line_len;
            continue;
        }
        // One line longer than a whole message: cut it into full pieces, keeping the rest.
        let mut chunk = String::new();
        let mut chunk_len = 0;
        for c in line.chars() {
            let c_len = c.len_utf16();
            if chunk_len + c_len > limit {
                pieces.push(std::mem::take(&mut chunk));
                chunk_len = 0;
            }
            chunk.push(c);
            chunk_len += c_len;
        }
        current = chunk;
        current_len = chunk_len;
    }
    push_piece(&mut pieces, current);
    pieces
}

/// Packs whole blocks into as few messages of at most `limit` as it can, joined by newlines and
/// in order; a block is never split (make each one fit first, e.g. with [`code_blocks`]).
/// Newlines at a message's edges are trimmed, so a block may start with `\n` for spacing.
pub fn pack(blocks: impl IntoIterator<Item = String>, limit: usize) -> Vec<String> {
    let mut messages = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for block in blocks {
        let block_len = telegram_len(&block);
        debug_assert!(block_len <= limit, "a block of {block_len} is over {limit}");
        if !current.is_empty() && current_len + 1 + block_len > limit {
            push_piece(&mut messages, std::mem::take(&mut current));
            current_len = 0;
        }
        if !current.is_empty() {
            current.push('\n');
            current_len += 1;
        }
        current.push_str(&block);
        current_len += block_len;
    }
    push_piece(&mut messages, current);
    messages
}

/// `content` escaped inside `<code>` tags, as one block or, when it is longer than a message,
/// as several blocks each at most `limit` long once wrapped (cut between characters; the
/// pieces read back in order give the content exactly).
pub fn code_blocks(content: &str, limit: usize) -> Vec<String> {
    const OPEN: &str = "<code>";
    const CLOSE: &str = "</code>";
    let room = limit - OPEN.len() - CLOSE.len();
    let mut blocks = Vec::new();
    let mut chunk = String::new();
    let mut chunk_len = 0;
    for c in content.chars() {
        let escaped = match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            c => c.to_string(),
        };
        let len = telegram_len(&escaped);
        if chunk_len + len > room {
            blocks.push(format!("{OPEN}{chunk}{CLOSE}"));
            chunk.clear();
            chunk_len = 0;
        }
        chunk.push_str(&escaped);
        chunk_len += len;
    }
    if !chunk.is_empty() || blocks.is_empty() {
        blocks.push(format!("{OPEN}{chunk}{CLOSE}"));
    }
    blocks
}

fn push_piece(pieces: &mut Vec<String>, piece: String) {
    let trimmed = piece.trim_matches('\n');
    if !trimmed.trim().is_empty() {
        pieces.push(trimmed.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(split_message("a\nb", 10), ["a\nb"]);
    }

    #[test]
    fn pieces_break_between_lines_and_respect_the_limit() {
        let text = ["aaaa", "bbbb", "cccc"].join("\n");
        assert_eq!(split_message(&text, 9), ["aaaa\nbbbb", "cccc"]);
    }

    #[test]
    fn an_overlong_line_is_cut_and_nothing_is_lost() {
        let licence = "K".repeat(3000);
        let text = format!("{licence}\n{licence}");
        let pieces = split_message(&text, MESSAGE_LIMIT);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().all(|p| telegram_len(p) <= MESSAGE_LIMIT));
        let long = "x".repeat(10_000);
        let pieces = split_message(&long, MESSAGE_LIMIT);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces.concat(), long);
    }

    #[test]
    fn emoji_are_counted_as_telegram_counts_them() {
        // Each of these emoji is two UTF-16 units.
        let text = "😀".repeat(3);
        let pieces = split_message(&text, 4);
        assert_eq!(pieces, ["😀😀", "😀"]);
    }

    #[test]
    fn blocks_are_packed_whole_and_in_order() {
        let blocks = [
            "title".to_owned(),
            "\n<b>A</b>".into(),
            "aaaa".into(),
            "bbbb".into(),
        ];
        assert_eq!(pack(blocks, 19), ["title\n\n<b>A</b>", "aaaa\nbbbb"]);
    }

    #[test]
    fn long_content_becomes_several_closed_code_blocks() {
        let licence = format!("{}<&>", "L".repeat(5000));
        let blocks = code_blocks(&licence, MESSAGE_LIMIT);
        assert_eq!(blocks.len(), 2);
        for block in &blocks {
            assert!(telegram_len(block) <= MESSAGE_LIMIT);
            assert!(block.starts_with("<code>") && block.ends_with("</code>"));
        }
        let joined: String = blocks
            .iter()
            .map(|b| &b[6..b.len() - 7])
            .collect::<String>()
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        assert_eq!(joined, licence);
        assert_eq!(code_blocks("", 100), ["<code></code>"]);
    }

    #[test]
    fn blank_text_gives_no_pieces() {
        assert!(split_message("\n\n", 10).is_empty());
    }
}
