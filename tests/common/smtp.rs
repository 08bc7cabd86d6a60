//! A real local SMTP server for the mail tests: `python3 -m aiosmtpd` with a Maildir handler
//! (scripts/test.sh installs aiosmtpd when missing).
use std::time::{Duration, Instant};

pub struct Smtp {
    child: std::process::Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Smtp {
    /// A real SMTP server: `python3 -m aiosmtpd` with a Maildir handler.
    pub async fn start() -> Smtp {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(dir.path().join("mail"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (pip install aiosmtpd; scripts/test.sh does)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start (is it installed?)"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Smtp { child, port, dir }
    }

    /// Every mail received, by file name.
    pub fn mails(&self) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(self.dir.path().join("mail").join(sub)) {
                for e in rd.flatten() {
                    out.insert(
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read_to_string(e.path()).expect("mail"),
                    );
                }
            }
        }
        out
    }

    /// The one mail that arrived since `seen` (which it joins).
    pub fn new_mail(&self, seen: &mut Vec<String>) -> String {
        let fresh: Vec<(String, String)> = self
            .mails()
            .into_iter()
            .filter(|(k, _)| !seen.contains(k))
            .collect();
        assert_eq!(fresh.len(), 1, "exactly one new mail");
        seen.push(fresh[0].0.clone());
        fresh[0].1.clone()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
