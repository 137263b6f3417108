//! A tiny SMTP server for the mail suites: it listens on a free loopback port, speaks just
//! enough SMTP for a client that does not need TLS or AUTH (greeting, `EHLO`/`HELO`, `MAIL
//! FROM`, `RCPT TO`, `DATA`, `RSET`, `NOOP`, `QUIT`), several mails per connection, and
//! hands every accepted mail, envelope and raw data, to the test through a channel.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One accepted mail.
#[derive(Debug, Clone)]
pub struct Received {
    /// The `MAIL FROM` address.
    pub mail_from: String,
    /// The `RCPT TO` addresses, in order.
    pub rcpt_to: Vec<String>,
    /// The message as transmitted, dot-stuffing undone, without the final `<CRLF>.<CRLF>`.
    pub data: Vec<u8>,
}

impl Received {
    /// The mail as a test compares it: envelope, decoded headers and the decoded HTML body
    /// (with LF line ends).
    /// Addresses read `Name <address>`, or the bare address without a name; a header that
    /// is absent is null.
    pub fn summary(&self) -> Value {
        use mail_parser::MimeHeaders;
        let message = mail_parser::MessageParser::default()
            .parse(&self.data)
            .unwrap_or_else(|| panic!("unparsable mail:\n{}", String::from_utf8_lossy(&self.data)));
        let list = |addresses: Option<&mail_parser::Address>| match addresses {
            None => Value::Null,
            Some(list) => list
                .iter()
                .map(|a| {
                    let address = a.address().unwrap_or_default();
                    match a.name() {
                        Some(name) => json!(format!("{name} <{address}>")),
                        None => json!(address),
                    }
                })
                .collect(),
        };
        let content_type = message.content_type().map(|ct| {
            format!(
                "{}/{}; charset={}",
                ct.ctype(),
                ct.subtype().unwrap_or_default(),
                ct.attribute("charset").unwrap_or_default()
            )
        });
        json!({
            "envelope": {"from": self.mail_from, "to": self.rcpt_to},
            "from": list(message.from()),
            "to": list(message.to()),
            "cc": list(message.cc()),
            "bcc": list(message.bcc()),
            "reply_to": list(message.reply_to()),
            "subject": message.subject(),
            "content_type": content_type,
            // SMTP carries CRLF line ends; the body was written with LF.
            "html": message.body_html(0).map(|h| h.replace("\r\n", "\n")),
        })
    }

    /// The decoded HTML body.
    pub fn html(&self) -> String {
        self.summary()["html"]
            .as_str()
            .unwrap_or_else(|| panic!("no HTML body in {}", self.summary()))
            .to_string()
    }
}

/// The running server; it stops with the test's runtime.
pub struct SmtpServer {
    pub addr: SocketAddr,
    mails: mpsc::UnboundedReceiver<Received>,
}

impl SmtpServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let addr = listener.local_addr().expect("SMTP address");
        let (tx, mails) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    // A client hanging up mid-session is its own business.
                    let _ = session(stream, tx).await;
                });
            }
        });
        SmtpServer { addr, mails }
    }

    /// A server that accepts connections and never answers: a send to it hangs.
    pub async fn silent() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let addr = listener.local_addr().expect("SMTP address");
        tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                open.push(stream);
            }
        });
        addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The next mail, waiting up to 10 seconds.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.mails.recv())
            .await
            .expect("a mail within 10 s")
            .expect("the SMTP server is running")
    }

    /// No mail arrives within `wait`.
    pub async fn assert_none(&mut self, wait: Duration) {
        if let Ok(Some(mail)) = tokio::time::timeout(wait, self.mails.recv()).await {
            panic!("unexpected mail: {}", mail.summary());
        }
    }
}

async fn session(stream: TcpStream, tx: mpsc::UnboundedSender<Received>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write
        .write_all(b"220 localhost ESMTP flowline-test\r\n")
        .await?;
    let mut mail_from = String::new();
    let mut rcpt_to = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let verb = text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 localhost\r\n",
            "MAIL" => {
                mail_from = angle(&text);
                rcpt_to.clear();
                b"250 2.1.0 OK\r\n"
            }
            "RCPT" => {
                rcpt_to.push(angle(&text));
                b"250 2.1.5 OK\r\n"
            }
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if read.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    let unstuffed = if line.starts_with(b"..") {
                        &line[1..]
                    } else {
                        &line[..]
                    };
                    data.extend_from_slice(unstuffed);
                }
                // `<CRLF>.<CRLF>` ends the data: its first CRLF is not the message's.
                if data.ends_with(b"\r\n") {
                    data.truncate(data.len() - 2);
                }
                let mail = Received {
                    mail_from: std::mem::take(&mut mail_from),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data,
                };
                // The test may have finished listening; the mail is still accepted.
                let _ = tx.send(mail);
                b"250 2.0.0 queued\r\n"
            }
            "RSET" => {
                mail_from.clear();
                rcpt_to.clear();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 Command not recognized\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The address between `<` and `>` of `MAIL FROM:<a@b> SIZE=1` or `RCPT TO:<a@b>`.
fn angle(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| start + i);
    command[start..end].to_string()
}
