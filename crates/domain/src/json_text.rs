//! Stored JSON text copied into a response without becoming a `serde_json::Value` first.
//!
//! A JSON column (`options` of every flow and operation) used to be parsed into a map (a
//! `String` and a SipHash per key) only to be serialised again and dropped: on PostgreSQL
//! that was an eighth of a 25-flow REST list. Most stored JSON is already in the form
//! serde_json writes, but for whitespace: PostgreSQL keeps a `json` value bound as `jsonb`
//! in jsonb's own text form (`{"a": 1, "b": [2, 3]}`), and Directus writes compact JSON.
//! [`compact_into`] copies such text without its whitespace, and refuses anything whose
//! parse-and-serialise would read differently, so that callers fall back to the parse.

/// Nesting deeper than this is left to the parser (serde_json refuses 128 levels).
const MAX_DEPTH: usize = 64;

/// Objects with more keys than this are left to the parser: duplicates are looked for by
/// comparing each key with the ones before it.
const MAX_KEYS: usize = 32;

/// Appends `text` to `out` without whitespace between tokens, when that is byte for byte
/// what `serde_json::to_writer(out, &serde_json::from_str::<Value>(text)?)` writes, and
/// returns true. Otherwise `out` is left as it was and the answer is false: the text is not
/// JSON, has a fraction, an exponent, an integer out of 64 bits or `-0` (serde_json prints
/// those its own way), a string escape serde_json writes differently (`\/`, `\u00e9`), a
/// repeated key (the parse keeps the last one), or nesting beyond [`MAX_DEPTH`].
pub fn compact_into(text: &str, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let mut copy = Compactor {
        bytes: text.as_bytes(),
        at: 0,
        out,
        keys: Vec::new(),
    };
    let done = copy.value(0) && {
        copy.skip_space();
        copy.at == copy.bytes.len()
    };
    if !done {
        out.truncate(start);
    }
    done
}

struct Compactor<'t, 'o> {
    bytes: &'t [u8],
    at: usize,
    out: &'o mut Vec<u8>,
    /// The keys of the objects being copied, as spans of `bytes`, innermost last.
    keys: Vec<(usize, usize)>,
}

impl Compactor<'_, '_> {
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes.get(self.at).copied()
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') => depth < MAX_DEPTH && self.object(depth + 1),
            Some(b'[') => depth < MAX_DEPTH && self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.bytes[self.at..].starts_with(word) {
            self.out.extend_from_slice(word);
            self.at += word.len();
            true
        } else {
            false
        }
    }

    /// An integer serde_json keeps as `i64` or `u64`, and so prints as it is written.
    fn number(&mut self) -> bool {
        let start = self.at;
        if self.bytes[self.at] == b'-' {
            self.at += 1;
        }
        let digits = self.at;
        while let Some(b'0'..=b'9') = self.bytes.get(self.at) {
            self.at += 1;
        }
        let run = &self.bytes[digits..self.at];
        if run.is_empty() || (run[0] == b'0' && run.len() > 1) {
            return false;
        }
        if let Some(b'.' | b'e' | b'E') = self.bytes.get(self.at) {
            return false;
        }
        let number = &self.bytes[start..self.at];
        // ASCII digits and a sign: always UTF-8.
        let Ok(number) = std::str::from_utf8(number) else {
            return false;
        };
        let fits = if start == digits {
            number.parse::<u64>().is_ok()
        } else {
            number != "-0" && number.parse::<i64>().is_ok()
        };
        if fits {
            self.out.extend_from_slice(number.as_bytes());
        }
        fits
    }

    /// Copies a string whose escapes are the ones serde_json writes; its span in `bytes`.
    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.at;
        self.at += 1;
        loop {
            let b = *self.bytes.get(self.at)?;
            match b {
                b'"' => break,
                b'\\' => {
                    let escape = *self.bytes.get(self.at + 1)?;
                    match escape {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
                        b'u' => {
                            let code = self.bytes.get(self.at + 2..self.at + 6)?;
                            if !canonical_control(code) {
                                return None;
                            }
                            self.at += 6;
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        self.at += 1;
        self.out.extend_from_slice(&self.bytes[start..self.at]);
        Some((start, self.at))
    }

    /// Copies `byte` when it is the next token.
    fn token(&mut self, byte: u8) -> bool {
        if self.peek() != Some(byte) {
            return false;
        }
        self.at += 1;
        self.out.push(byte);
        true
    }

    fn array(&mut self, depth: usize) -> bool {
        self.token(b'[');
        if self.token(b']') {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if self.token(b']') {
                return true;
            }
            if !self.token(b',') {
                return false;
            }
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        self.token(b'{');
        if self.token(b'}') {
            return true;
        }
        let first_key = self.keys.len();
        let done = loop {
            if self.peek() != Some(b'"') {
                break false;
            }
            let Some(key) = self.string() else {
                break false;
            };
            let text = &self.bytes[key.0..key.1];
            if self.keys.len() - first_key >= MAX_KEYS
                || self.keys[first_key..]
                    .iter()
                    .any(|&(s, e)| &self.bytes[s..e] == text)
            {
                break false;
            }
            self.keys.push(key);
            if !self.token(b':') || !self.value(depth) {
                break false;
            }
            if self.token(b'}') {
                break true;
            }
            if !self.token(b',') {
                break false;
            }
        };
        self.keys.truncate(first_key);
        done
    }
}

/// Whether `\u` followed by these four bytes is how serde_json writes a character: only
/// control characters without a short escape, in lower-case hex.
fn canonical_control(code: &[u8]) -> bool {
    let [b'0', b'0', high, low] = *code else {
        return false;
    };
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    match (digit(high), digit(low)) {
        (Some(h @ 0..=1), Some(l)) => !matches!(h * 16 + l, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// What the parse-and-serialise path writes, or `None` where it would not parse.
    fn reserialised(text: &str) -> Option<String> {
        serde_json::from_str::<Value>(text)
            .ok()
            .map(|value| value.to_string())
    }

    fn compacted(text: &str) -> Option<String> {
        let mut out = b"prefix".to_vec();
        let done = compact_into(text, &mut out);
        let kept = String::from_utf8(out).expect("utf-8");
        if done {
            Some(
                kept.strip_prefix("prefix")
                    .expect("prefix kept")
                    .to_string(),
            )
        } else {
            assert_eq!(kept, "prefix", "a refusal leaves the buffer as it was");
            None
        }
    }

    /// Every answer either matches the parse byte for byte or is a refusal.
    fn agrees(text: &str) -> Option<String> {
        let copied = compacted(text);
        if let Some(copied) = &copied {
            assert_eq!(Some(copied.clone()), reserialised(text), "for {text:?}");
        }
        copied
    }

    #[test]
    fn jsonb_text_loses_its_whitespace() {
        assert_eq!(
            agrees(r#"{"async": false, "method": "POST", "return": "$last"}"#).as_deref(),
            Some(r#"{"async":false,"method":"POST","return":"$last"}"#)
        );
        assert_eq!(
            agrees(" [1, [ ], { }, {\"a\" :\n\t\"b\\n\"} , null, true, -12] \r\n").as_deref(),
            Some(r#"[1,[],{},{"a":"b\n"},null,true,-12]"#)
        );
        assert_eq!(agrees(r#""x""#).as_deref(), Some(r#""x""#));
    }

    #[test]
    fn strings_keep_the_escapes_serde_writes() {
        let text =
            "{\"k\": \"quote \\\" back \\\\ tab \\t nul \\u0000 esc \\u001b del \u{7f} é ☃\"}";
        assert!(agrees(text).is_some());
    }

    #[test]
    fn text_that_would_print_otherwise_is_refused() {
        for text in [
            r#"{"a": 1.5}"#,
            r#"{"a": 1e3}"#,
            r#"{"a": 1.0}"#,
            "-0",
            "18446744073709551616",
            "-9223372036854775809",
            r#""\/""#,
            r#""\u00e9""#,
            r#""\u000a""#,
            r#""\u001B""#,
            r#""\ud83d\ude00""#,
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": {"b": 1, "b": 1}}"#,
            "",
            " ",
            "01",
            "[1,]",
            "{\"a\" 1}",
            "nul",
            "[1] [2]",
            "\"raw \u{1} control\"",
            "not json",
        ] {
            assert_eq!(agrees(text), None, "{text:?}");
        }
    }

    #[test]
    fn limits_leave_the_rest_to_the_parser() {
        assert_eq!(
            agrees("18446744073709551615").as_deref(),
            Some("18446744073709551615")
        );
        assert_eq!(
            agrees("-9223372036854775808").as_deref(),
            Some("-9223372036854775808")
        );
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(agrees(&deep).is_some());
        let deeper = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(agrees(&deeper), None);
        let keys = |n: usize| {
            let body: Vec<String> = (0..n).map(|i| format!("\"k{i}\": {i}")).collect();
            format!("{{{}}}", body.join(", "))
        };
        assert!(agrees(&keys(MAX_KEYS)).is_some());
        assert_eq!(agrees(&keys(MAX_KEYS + 1)), None);
        // The same key in sibling objects is no repeat.
        assert!(agrees(r#"[{"a": 1}, {"a": 2}, {"b": {"a": 3}, "a": 4}]"#).is_some());
    }

    /// A stream of pseudo-random documents, some valid and some not, each written compact
    /// and in jsonb's spacing: whatever is copied matches the parse.
    #[test]
    fn generated_documents_agree_with_the_parse() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let atoms = [
            "0",
            "7",
            "-3",
            "12.5",
            "1e2",
            "true",
            "false",
            "null",
            r#""a""#,
            r#""\u0001""#,
            r#""\/""#,
            r#""é""#,
            r#""\"""#,
            "[]",
            "{}",
            "9223372036854775808",
            "-0",
        ];
        let mut copied = 0;
        for _ in 0..5_000 {
            let mut doc = String::new();
            fn build(doc: &mut String, next: &mut dyn FnMut(u64) -> u64, atoms: &[&str], d: u32) {
                match if d > 4 { 0 } else { next(3) } {
                    0 => doc.push_str(atoms[next(atoms.len() as u64) as usize]),
                    1 => {
                        doc.push('[');
                        for i in 0..next(4) {
                            if i > 0 {
                                doc.push_str(if next(2) == 0 { "," } else { ", " });
                            }
                            build(doc, next, atoms, d + 1);
                        }
                        doc.push(']');
                    }
                    _ => {
                        doc.push('{');
                        for i in 0..next(4) {
                            if i > 0 {
                                doc.push_str(", ");
                            }
                            doc.push_str(&format!("\"k{}\": ", next(3)));
                            build(doc, next, atoms, d + 1);
                        }
                        doc.push('}');
                    }
                }
            }
            build(&mut doc, &mut next, &atoms, 0);
            if agrees(&doc).is_some() {
                copied += 1;
            }
        }
        // Both branches are exercised.
        assert!(copied > 500 && copied < 4_500, "{copied} of 5000 copied");
    }
}
