//! Who is asking: the caller a request or a flow acts for, as Directus's `accountability`.

use serde::{Deserialize, Serialize};

/// Mirrors the keys Directus exposes in `$accountability` (`role`, `user`, `roles`, `admin`,
/// `app`, `ip`, ...), so flows that read it keep working.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Accountability {
    pub user: Option<String>,
    pub role: Option<String>,
    pub roles: Vec<String>,
    pub admin: bool,
    pub app: bool,
    pub ip: Option<String>,
    #[serde(rename = "userAgent", skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Accountability {
    /// An anonymous caller (Directus's public role).
    pub fn public() -> Self {
        Accountability::default()
    }

    /// Full access without a user, for internal work such as start-up.
    pub fn system() -> Self {
        Accountability {
            admin: true,
            ..Accountability::default()
        }
    }

    pub fn is_authenticated(&self) -> bool {
        self.user.is_some() || self.role.is_some()
    }
}
