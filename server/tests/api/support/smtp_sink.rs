//! A local SMTP server that accepts every message and keeps it, so tests read real mail sent
//! by the app's real SMTP client (lettre) over TCP.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP sink");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
                    let mut to = Vec::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                            b"250-sink.test\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("MAIL FROM") {
                            to.clear();
                            b"250 OK\r\n"
                        } else if upper.starts_with("RCPT TO") {
                            to.push(
                                line[8..].trim().trim_start_matches(':').trim().trim_matches(['<', '>']).to_owned(),
                            );
                            b"250 OK\r\n"
                        } else if upper == "DATA" {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                data.push_str(l.strip_prefix('.').filter(|_| l.starts_with("..")).unwrap_or(&l));
                                data.push('\n');
                            }
                            if let Ok(mut all) = store.lock() {
                                all.push(ReceivedMail { to: to.clone(), data: decode(&data) });
                            }
                            b"250 queued\r\n"
                        } else if upper == "QUIT" {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 OK\r\n"
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        Self { port, received }
    }

    pub fn all(&self) -> Vec<ReceivedMail> {
        self.received.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn to(&self, address: &str) -> Vec<ReceivedMail> {
        self.all().into_iter().filter(|m| m.to.iter().any(|t| t == address)).collect()
    }

    /// Waits (up to 5 s) for a mail to `address` containing `needle`.
    pub async fn wait_for(&self, address: &str, needle: &str) -> ReceivedMail {
        for _ in 0..100 {
            if let Some(mail) = self.to(address).into_iter().find(|m| m.data.contains(needle)) {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {address} containing {needle:?}; received: {:#?}", self.all());
    }

    /// Waits (up to 5 s) for a mail to `address` whose body has a link containing `marker`, and
    /// returns the token at the end of that link (from the newest such mail).
    pub async fn token_for(&self, address: &str, marker: &str) -> String {
        self.token_other_than(address, marker, "").await
    }

    /// Like `token_for`, but waits for a token other than `previous` (a resent link).
    pub async fn token_other_than(&self, address: &str, marker: &str, previous: &str) -> String {
        for _ in 0..100 {
            let found = self.to(address).iter().rev().find_map(|m| {
                let start = m.data.find(marker)? + marker.len();
                Some(
                    m.data[start..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect::<String>(),
                )
            });
            if let Some(token) = found.filter(|t| t != previous) {
                return token;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {address} with {marker:?}; received: {:#?}", self.all());
    }
}

/// Decodes a quoted-printable body (as a mail reader does), leaving the headers as they are.
fn decode(message: &str) -> String {
    let Some((headers, body)) = message.split_once("\n\n") else { return message.to_owned() };
    if !headers.to_ascii_lowercase().contains("content-transfer-encoding: quoted-printable") {
        return message.to_owned();
    }
    let joined = body.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    format!("{headers}\n\n{}", String::from_utf8_lossy(&out))
}
