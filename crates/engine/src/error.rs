//! Errors as flows carry them: a rejected operation's data in the chain, plus what an HTTP
//! response makes of it (Directus's `error-handler` rules, flows-and-operations.md §5.5).

use serde_json::{Map, Value, json};

/// A Directus error thrown inside a flow (`throw-error`, `FAILED_VALIDATION`, `FORBIDDEN`...).
#[derive(Debug, Clone, PartialEq)]
pub struct DirectusError {
    pub code: String,
    pub status: u16,
    pub message: String,
    pub extensions: Map<String, Value>,
}

impl DirectusError {
    pub fn new(code: &str, status: u16, message: impl Into<String>) -> Self {
        DirectusError {
            code: code.to_string(),
            status,
            message: message.into(),
            extensions: Map::new(),
        }
    }

    /// What the chain holds: the enumerable properties of a Directus error (no `message`).
    pub fn chain_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("name".into(), json!("DirectusError"));
        if !self.extensions.is_empty() {
            obj.insert("extensions".into(), Value::Object(self.extensions.clone()));
        }
        obj.insert("code".into(), json!(self.code));
        obj.insert("status".into(), json!(self.status));
        Value::Object(obj)
    }

    fn entry(&self) -> Value {
        let mut ext = self.extensions.clone();
        ext.insert("code".into(), json!(self.code));
        json!({"message": self.message, "extensions": ext})
    }
}

impl From<domain::Error> for DirectusError {
    fn from(err: domain::Error) -> Self {
        let mut entries = err.entries();
        let (message, mut extensions) = if entries.is_empty() {
            (err.to_string(), Map::new())
        } else {
            entries.swap_remove(0)
        };
        extensions.remove("code");
        DirectusError {
            code: err.code().to_string(),
            status: err.status(),
            message,
            extensions,
        }
    }
}

/// What a rejected operation leaves: the chain value and how HTTP renders it when thrown.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub data: Value,
    /// Boxed: most rejections are handled inside the flow and never answered over HTTP.
    pub http: Box<HttpError>,
    /// Whether trying again may help, for flows with a retry policy.
    pub retry: Retry,
}

/// Whether a failed step is worth another try under a flow's `options.retry`
/// ([`domain::retry::RetryPolicy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retry {
    /// Possibly passing (a network error, an error from elsewhere): try again after the
    /// policy's wait.
    #[default]
    Backoff,
    /// Passing, and the other side said after how long (`Retry-After`).
    After(std::time::Duration),
    /// It would fail the same way again (an answer such as 400 or 404, an invalid option).
    Never,
}

/// A response status with Directus's `{"errors": [...]}` body.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpError {
    pub status: u16,
    pub body: Value,
    /// Not a Directus error: only admins see its message (error-handler.ts); see
    /// [`HttpError::for_caller`].
    pub internal: bool,
}

impl HttpError {
    /// The answer a caller gets: a non-Directus error shows its message to admins only;
    /// everyone else gets `An unexpected error occurred.` with the bare code.
    pub fn for_caller(self, admin: bool) -> HttpError {
        if !self.internal || admin {
            return self;
        }
        HttpError {
            body: json!({"errors": [{"message": UNEXPECTED, "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}),
            ..self
        }
    }
}

const UNEXPECTED: &str = "An unexpected error occurred.";

impl Rejection {
    pub fn directus(err: DirectusError) -> Self {
        Rejection {
            data: err.chain_value(),
            http: Box::new(HttpError {
                status: err.status,
                body: json!({"errors": [err.entry()]}),
                internal: false,
            }),
            retry: Retry::Backoff,
        }
    }

    /// Several Directus errors (a failed condition): one entry each; the status is theirs
    /// when they agree, 500 otherwise.
    pub fn many(errors: Vec<DirectusError>) -> Self {
        let status = match errors.first() {
            Some(first) if errors.iter().all(|e| e.status == first.status) => first.status,
            _ => 500,
        };
        Rejection {
            data: Value::Array(errors.iter().map(DirectusError::chain_value).collect()),
            http: Box::new(HttpError {
                status,
                body: json!({"errors": errors.iter().map(DirectusError::entry).collect::<Vec<_>>()}),
                internal: false,
            }),
            retry: Retry::Backoff,
        }
    }

    /// Anything else thrown (a plain error, an object, a string): HTTP 500, with the message
    /// Directus shows admins (others see [`HttpError::for_caller`]'s generic one).
    pub fn plain(data: Value, message: impl Into<String>) -> Self {
        Rejection {
            data,
            http: Box::new(HttpError {
                status: 500,
                body: json!({"errors": [{"message": message.into(), "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}),
                internal: true,
            }),
            retry: Retry::Backoff,
        }
    }

    /// The same rejection, marked as one that another try would not change.
    pub fn for_good(mut self) -> Self {
        self.retry = Retry::Never;
        self
    }

    /// The same rejection, marked as passing after `wait`.
    pub fn retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry = Retry::After(wait);
        self
    }

    /// A plain JavaScript `Error`: serialises to `{}` in the chain, as in Directus.
    pub fn error(message: impl Into<String>) -> Self {
        Rejection::plain(json!({}), message)
    }
}
