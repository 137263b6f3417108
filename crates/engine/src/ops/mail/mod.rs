//! `mail`: renders a body (markdown, raw HTML or a Liquid template) and sends it over SMTP
//! with lettre, in the background, after the per-flow rate limit.

mod limit;
mod render;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use futures_util::future::BoxFuture;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Mailboxes};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Map, Value, json};

use super::{OpContext, Operation};
use crate::MailConfig;
use crate::error::Rejection;
use crate::options::{parse, present, text};

type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// Sends a mail and resolves with null at once: as in Directus, only the rate limit can
/// reject; rendering and sending happen after the run moved on, and their failures are only
/// logged ("Could not send mail in \"mail\" operation").
///
/// One instance lives in each engine's registry, so the limiter's windows and the SMTP
/// connection pool are shared by all runs of that engine.
#[derive(Default)]
pub struct Mail {
    limiter: limit::Limiter,
    /// Built on the first mail (the pool needs a running tokio runtime), then reused; the
    /// error says why mail cannot be sent at all (no `EMAIL_SMTP_HOST`, bad TLS set-up).
    transport: OnceLock<Result<Transport, String>>,
}

impl Operation for Mail {
    fn id(&self) -> &'static str {
        "mail"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            let config = &ctx.engine.config().mail;
            if let Some(limit) = &config.rate_limit
                && !self.limiter.consume(&ctx.flow.id, limit, Instant::now())
            {
                return Err(Rejection::directus(limit::exceeded(limit)));
            }
            let draft = Draft::from_options(options);
            let sender = Sender::new(config);
            let transport = self
                .transport
                .get_or_init(|| build_transport(config))
                .clone();
            let flow = ctx.flow.id.clone();
            tokio::spawn(async move {
                if let Err(error) = deliver(draft, sender, transport).await {
                    tracing::error!(
                        target: "flowline::flows",
                        flow = %flow,
                        %error,
                        "Could not send mail in \"mail\" operation"
                    );
                }
            });
            Ok(Value::Null)
        })
    }
}

/// The SMTP transport of `EMAIL_SMTP_*`: implicit TLS when `secure`, otherwise plain SMTP
/// upgraded with STARTTLS when the server offers it (nodemailer's default), which is also
/// what lets a loopback relay without TLS work.
fn build_transport(config: &MailConfig) -> Result<Transport, String> {
    let host = config
        .smtp_host
        .as_deref()
        .ok_or("no SMTP server is configured (EMAIL_SMTP_HOST)")?;
    let port = config
        .smtp_port
        .unwrap_or(if config.smtp_secure { 465 } else { 587 });
    let params =
        TlsParameters::new(host.to_string()).map_err(|e| format!("TLS set-up for {host}: {e}"))?;
    let tls = if config.smtp_secure {
        Tls::Wrapper(params)
    } else {
        Tls::Opportunistic(params)
    };
    let mut builder = Transport::builder_dangerous(host).port(port).tls(tls);
    if let Some(user) = &config.smtp_user {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            config.smtp_password.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.build())
}

/// Renders off the async workers (templates are read from disk), then sends.
async fn deliver(
    draft: Draft,
    sender: Sender,
    transport: Result<Transport, String>,
) -> Result<(), String> {
    let message = tokio::task::spawn_blocking(move || compose(draft, &sender))
        .await
        .map_err(|e| format!("rendering the mail: {e}"))??;
    transport?
        .send(message)
        .await
        .map_err(|e| format!("SMTP: {e}"))?;
    Ok(())
}

/// What one `mail` operation asks for, read from its rendered options. Nothing here fails:
/// Directus hands the options to its mailer as they are, and the mailer's complaints are
/// only logged.
struct Draft {
    to: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    reply_to: Vec<String>,
    subject: Option<String>,
    /// `fromName`, trimmed; `None` when empty.
    from_name: Option<String>,
    body: Body,
}

enum Body {
    Markdown(String),
    Html(String),
    Template {
        name: String,
        data: Map<String, Value>,
    },
}

/// The `mail` operation's options (operations-catalog.md §9), each read the lenient way
/// Directus's mailer takes them.
#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct MailOptions {
    #[serde(default, deserialize_with = "addresses")]
    to: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    cc: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    bcc: Vec<String>,
    #[serde(default, rename = "replyTo", deserialize_with = "addresses")]
    reply_to: Vec<String>,
    /// Text, or the JSON text of anything else; `None` for null or absent.
    #[serde(default, deserialize_with = "as_text")]
    subject: Option<String>,
    #[serde(default, deserialize_with = "present")]
    body: Option<Value>,
    /// `wysiwyg`, `template`, or markdown for anything else.
    #[serde(default, rename = "type", deserialize_with = "text")]
    kind: Option<Box<str>>,
    #[serde(default, deserialize_with = "text")]
    template: Option<Box<str>>,
    #[serde(default, deserialize_with = "present")]
    data: Option<Value>,
    #[serde(default, rename = "fromName", deserialize_with = "text")]
    from_name: Option<Box<str>>,
}

fn as_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match <Value as serde::Deserialize>::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

impl Draft {
    fn from_options(options: Value) -> Self {
        let options: MailOptions = parse(options);
        // `JSON.stringify(body)` for anything but a string: an object becomes its JSON, null
        // becomes "null". A missing body (where `marked` would throw) is an empty one.
        let body_text = match options.body {
            None => String::new(),
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
        };
        let body = match options.kind.as_deref() {
            Some("wysiwyg") => Body::Html(body_text),
            Some("template") => Body::Template {
                name: options
                    .template
                    .as_deref()
                    .filter(|n| !n.is_empty())
                    .unwrap_or("base")
                    .to_string(),
                data: match options.data {
                    Some(Value::Object(map)) => map,
                    // A JSON text, e.g. typed into the raw editor.
                    Some(Value::String(s)) => match serde_json::from_str(&s) {
                        Ok(Value::Object(map)) => map,
                        _ => Map::new(),
                    },
                    _ => Map::new(),
                },
            },
            _ => Body::Markdown(body_text),
        };
        Draft {
            to: options.to,
            cc: options.cc,
            bcc: options.bcc,
            reply_to: options.reply_to,
            subject: options.subject,
            from_name: options
                .from_name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            body,
        }
    }
}

/// A recipient option: one string (itself a comma-separated list) or an array of them.
fn addresses<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match <Value as serde::Deserialize>::deserialize(d)? {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s],
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::Null => None,
                Value::String(s) => Some(s),
                other => Some(other.to_string()),
            })
            .collect(),
        other => vec![other.to_string()],
    })
}

/// The engine settings a mail needs, owned so the background task outlives the run.
struct Sender {
    from: String,
    project_name: String,
    templates: Option<PathBuf>,
}

impl Sender {
    fn new(config: &MailConfig) -> Self {
        Sender {
            from: config.from.clone(),
            project_name: config.project_name.clone(),
            templates: config.templates_path.clone(),
        }
    }

    /// What every template sees under the flow's `data`: Directus's default template data
    /// (flowline has no settings row, so no logo or URL), and an empty `html` so the `base`
    /// layout renders even when a flow passes none.
    fn template_defaults(&self) -> Map<String, Value> {
        match json!({
            "projectName": self.project_name,
            "projectColor": "#171717",
            "projectLogo": "",
            "projectUrl": "",
            "html": "",
        }) {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// The message as sent: the From is `fromName` (or the project name) at `EMAIL_FROM`; Bcc
/// recipients reach the envelope only.
fn compose(draft: Draft, sender: &Sender) -> Result<Message, String> {
    let html = match draft.body {
        Body::Markdown(source) => render::markdown(&source),
        Body::Html(html) => html,
        Body::Template { name, data } => render::template(
            &name,
            &data,
            sender.template_defaults(),
            sender.templates.as_deref(),
        )?,
    };
    let html = render::trim_lines(&html);
    let address: Address = sender
        .from
        .parse()
        .map_err(|e| format!("EMAIL_FROM \"{}\": {e}", sender.from))?;
    let name = draft
        .from_name
        .unwrap_or_else(|| sender.project_name.clone());
    let from = Mailbox::new((!name.is_empty()).then_some(name), address);
    let mut builder = Message::builder().from(from);
    for mailbox in mailboxes(&draft.to, "to")? {
        builder = builder.to(mailbox);
    }
    for mailbox in mailboxes(&draft.cc, "cc")? {
        builder = builder.cc(mailbox);
    }
    for mailbox in mailboxes(&draft.bcc, "bcc")? {
        builder = builder.bcc(mailbox);
    }
    for mailbox in mailboxes(&draft.reply_to, "replyTo")? {
        builder = builder.reply_to(mailbox);
    }
    if let Some(subject) = draft.subject {
        builder = builder.subject(subject);
    }
    builder
        .header(ContentType::TEXT_HTML)
        .body(html)
        .map_err(|e| e.to_string())
}

/// Parses address lists (`a@x.org, "Ann" <ann@x.org>`), skipping blank entries.
fn mailboxes(list: &[String], field: &str) -> Result<Vec<Mailbox>, String> {
    let mut out = Vec::new();
    for entry in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let parsed: Mailboxes = entry
            .parse()
            .map_err(|e| format!("invalid \"{field}\" address \"{entry}\": {e}"))?;
        out.extend(parsed);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_take_the_shapes_the_mailer_takes() {
        let options: MailOptions = parse(json!({
            "to": ["a@x", null, 5], "cc": "b@x, c@x", "bcc": 7, "subject": {"s": 1},
            "type": "template", "template": "", "data": "{\"k\": 1}", "fromName": "  Me "
        }));
        assert_eq!(options.to, ["a@x", "5"]);
        assert_eq!(options.cc, ["b@x, c@x"]);
        assert_eq!(options.bcc, ["7"]);
        assert_eq!(options.subject.as_deref(), Some("{\"s\":1}"));
        let draft = Draft::from_options(json!({
            "type": "template", "template": "", "data": "{\"k\": 1}", "fromName": "  Me "
        }));
        assert_eq!(draft.from_name.as_deref(), Some("Me"));
        assert!(
            matches!(draft.body, Body::Template { ref name, ref data } if name == "base" && data["k"] == 1)
        );
        let plain = Draft::from_options(json!({"type": 3, "body": null, "subject": null}));
        assert!(matches!(plain.body, Body::Markdown(ref text) if text == "null"));
        assert_eq!(plain.subject, None);
        assert!(plain.to.is_empty());
    }
}
