//! Row ids as the plan keeps them.
//!
//! A plan of 10,000 flows holds 100,000 operation ids. As `String`s each cost 24 bytes and
//! a 48-byte allocation; every id flowline and Directus write is a UUID, which fits in the
//! 16 bytes of [`uuid::Uuid`]. Ids written in another form behind flowline's back are kept
//! as text, so that every id reads back exactly as stored.

use std::fmt;

use serde::{Serialize, Serializer};

#[derive(Clone, PartialEq, Eq, Hash)]
pub enum RowId {
    /// A UUID stored in its canonical text (lower-case, hyphenated).
    Uuid(uuid::Uuid),
    /// Any other text.
    Text(Box<str>),
}

impl RowId {
    pub fn new(text: &str) -> Self {
        match uuid::Uuid::try_parse(text) {
            // Only the canonical spelling: `{...}`, upper case or no hyphens must read back
            // as they were written.
            Ok(id)
                if id
                    .hyphenated()
                    .encode_lower(&mut uuid::Uuid::encode_buffer())
                    == text =>
            {
                RowId::Uuid(id)
            }
            _ => RowId::Text(text.into()),
        }
    }
}

impl RowId {
    /// The id as text, without the formatting machinery `to_string` goes through: a run
    /// records each step's operation id.
    pub fn text(&self) -> String {
        match self {
            RowId::Uuid(id) => id
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer())
                .to_owned(),
            RowId::Text(text) => text.to_string(),
        }
    }
}

impl From<String> for RowId {
    fn from(text: String) -> Self {
        match RowId::new(&text) {
            RowId::Uuid(id) => RowId::Uuid(id),
            RowId::Text(_) => RowId::Text(text.into_boxed_str()),
        }
    }
}

impl PartialEq<str> for RowId {
    fn eq(&self, other: &str) -> bool {
        match self {
            RowId::Uuid(id) => {
                other.len() == 36
                    && id
                        .hyphenated()
                        .encode_lower(&mut uuid::Uuid::encode_buffer())
                        == other
            }
            RowId::Text(text) => &**text == other,
        }
    }
}

impl PartialEq<String> for RowId {
    fn eq(&self, other: &String) -> bool {
        self == other.as_str()
    }
}

impl fmt::Display for RowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowId::Uuid(id) => fmt::Display::fmt(&id.hyphenated(), f),
            RowId::Text(text) => f.write_str(text),
        }
    }
}

impl fmt::Debug for RowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl Serialize for RowId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_as_they_were_stored() {
        for text in [
            "0e000001-0000-4000-8000-00000000000a",
            "0E000001-0000-4000-8000-00000000000A",
            "0e0000010000400080000000000000aa",
            "{0e000001-0000-4000-8000-00000000000a}",
            "a",
            "",
        ] {
            let id = RowId::new(text);
            assert_eq!(id.to_string(), text);
            assert_eq!(id.text(), text);
            assert!(id == *text, "{text}");
            assert_eq!(RowId::from(text.to_string()), id);
            assert_eq!(
                serde_json::to_string(&id).expect("serialises"),
                serde_json::to_string(text).expect("serialises")
            );
        }
        assert!(matches!(
            RowId::new("0e000001-0000-4000-8000-00000000000a"),
            RowId::Uuid(_)
        ));
        assert!(matches!(
            RowId::new("0E000001-0000-4000-8000-00000000000A"),
            RowId::Text(_)
        ));
        assert!(RowId::new("0e000001-0000-4000-8000-00000000000a") != *"0e000001");
    }
}
