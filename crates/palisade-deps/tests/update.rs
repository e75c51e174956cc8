//! `db update` against a local HTTP server on 127.0.0.1 (port 0) that serves an OSV zip.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

use palisade_deps::index::Index;
use palisade_deps::update;
use palisade_deps::version::Ecosystem;

fn zip_with(records: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in records {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(body.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Serve `n` requests: `/crates.io/all.zip` gets `body`, anything else 404. Returns the base URL
/// and the thread (which ends after `n` requests), and the request paths seen.
fn serve(body: Vec<u8>, n: usize) -> (String, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let mut seen = Vec::new();
        for stream in listener.incoming().take(n) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            if path == "/crates.io/all.zip" {
                write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).unwrap();
                stream.write_all(&body).unwrap();
            } else {
                stream
                    .write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .unwrap();
            }
            seen.push(path);
        }
        seen
    });
    (base, handle)
}

const RECORD: &str = r#"{"id":"RUSTSEC-2099-0002","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"crates.io","name":"demo"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"},{"fixed":"1.0.0"}]}]}]}"#;

#[test]
fn update_downloads_the_archive_and_imports_it() {
    let (base, server) = serve(zip_with(&[("RUSTSEC-2099-0002.json", RECORD)]), 1);
    let dir = tempfile::tempdir().unwrap();
    let mut ix = Index::open(&dir.path().join("vulns.sqlite3")).unwrap();
    let r = update::update(&mut ix, dir.path(), &base, &["crates.io".to_string()]).unwrap();
    assert_eq!(server.join().unwrap(), ["/crates.io/all.zip"]);
    assert_eq!((r[0].0.as_str(), r[0].1.written), ("crates.io", 1));
    assert_eq!(
        ix.lookup(&Ecosystem::CratesIo, "demo").unwrap()[0].id,
        "RUSTSEC-2099-0002"
    );
    // The downloaded archive does not linger in the data directory.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".zip"))
        .collect();
    assert!(left.is_empty());
}

#[test]
fn a_failed_download_is_an_error_naming_the_url_and_changes_nothing() {
    let (base, server) = serve(Vec::new(), 1);
    let dir = tempfile::tempdir().unwrap();
    let mut ix = Index::open(&dir.path().join("vulns.sqlite3")).unwrap();
    let e =
        update::update(&mut ix, dir.path(), &base, &["NoSuchEcosystem".to_string()]).unwrap_err();
    server.join().unwrap();
    let msg = e.to_string();
    assert!(
        msg.contains("/NoSuchEcosystem/all.zip") && msg.contains("404"),
        "{msg}"
    );
    assert!(ix.is_empty().unwrap());
}
