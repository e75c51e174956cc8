//! Image scanning on images written in the test: an OCI layout (tar and directory) and a
//! `docker save` tarball, with layers applied in order and whiteouts honoured.

use std::io::{Read, Write};
use std::path::Path;

use palisade_deps::image;
use palisade_deps::index::Index;
use palisade_deps::lockfile::Kind;
use palisade_deps::scan;
use sha2::{Digest, Sha256};

/// A layer tar: `(path, content)`; a path ending in `/` is a directory.
fn layer(entries: &[(&str, &str)], gzip: bool) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in entries {
        let mut h = tar::Header::new_gnu();
        if let Some(target) = content.strip_prefix("-> ") {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            h.set_mode(0o777);
            b.append_link(&mut h, path, target).unwrap();
        } else if path.ends_with('/') {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            h.set_mode(0o755);
            b.append_data(&mut h, path, std::io::empty()).unwrap();
        } else {
            h.set_size(content.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, path, content.as_bytes()).unwrap();
        }
    }
    let raw = b.into_inner().unwrap();
    if !gzip {
        return raw;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// The OCI media type of a layer, from its first bytes.
fn media_type(layer: &[u8]) -> &'static str {
    if layer.starts_with(&[0x1f, 0x8b]) {
        "application/vnd.oci.image.layer.v1.tar+gzip"
    } else if layer.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "application/vnd.oci.image.layer.v1.tar+zstd"
    } else {
        "application/vnd.oci.image.layer.v1.tar"
    }
}

/// Write an OCI layout (as files `name -> bytes`) with the given layers.
fn oci_layout(layers: &[Vec<u8>]) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![(
        "oci-layout".to_string(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    )];
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let mut descs = Vec::new();
    for l in layers {
        let d = sha(l);
        descs.push(format!(
            r#"{{"mediaType":"{}","digest":"sha256:{d}","size":{}}}"#,
            media_type(l),
            l.len()
        ));
        files.push((format!("blobs/sha256/{d}"), l.clone()));
    }
    let cd = sha(&config);
    files.push((format!("blobs/sha256/{cd}"), config.clone()));
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{cd}","size":{}}},"layers":[{}]}}"#,
        config.len(),
        descs.join(",")
    );
    let md = sha(manifest.as_bytes());
    files.push((format!("blobs/sha256/{md}"), manifest.clone().into_bytes()));
    files.push((
        "index.json".into(),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{md}","size":{}}}]}}"#,
            manifest.len()
        )
        .into_bytes(),
    ));
    files
}

fn write_tar(path: &Path, files: &[(String, Vec<u8>)]) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.finish().unwrap();
}

const OS_RELEASE: &str =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";

const STATUS_V1: &str = "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n\nPackage: zlib1g\nStatus: install ok installed\nSource: zlib (1:1.2.13.dfsg-1)\nVersion: 1:1.2.13.dfsg-1+b1\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n";
const STATUS_V2: &str = "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n\nPackage: zlib1g\nStatus: install ok installed\nSource: zlib (1:1.2.13.dfsg-1)\nVersion: 1:1.2.13.dfsg-1+b1\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n";

fn layers() -> Vec<Vec<u8>> {
    vec![
        layer(
            &[
                ("etc/", ""),
                // As in Debian images: the real file is under usr/lib.
                ("usr/lib/os-release", OS_RELEASE),
                ("etc/os-release", "-> ../usr/lib/os-release"),
                ("var/lib/dpkg/status", STATUS_V1),
                ("app/", ""),
                ("app/requirements.txt", "-r base.txt\n"),
                ("app/base.txt", "django==3.2.0\n"),
                ("old/", ""),
                ("old/Cargo.lock", "version = 3\n"),
                (
                    "usr/lib/python3/dist-packages/jinja2-2.10.dist-info/METADATA",
                    "Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.10\n\nbody\n",
                ),
            ],
            true,
        ),
        // Upper layer: replaces the dpkg status, deletes old/ with a whiteout, and makes
        // the python dir opaque (its lower content disappears).
        layer(
            &[
                ("var/lib/dpkg/status", STATUS_V2),
                (".wh.old", ""),
                ("usr/lib/python3/dist-packages/.wh..wh..opq", ""),
                (
                    "usr/lib/python3/dist-packages/requests-2.19.0.dist-info/METADATA",
                    "Name: requests\nVersion: 2.19.0\n",
                ),
            ],
            false,
        ),
    ]
}

fn advisories(dir: &Path) -> Index {
    let recs = [
        // Debian advisories name the source package and a release.
        r#"{"id":"DSA-9999-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2099-1"],"affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.11-1~deb12u2"}]}]}]}"#,
        r#"{"id":"DSA-9999-2","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:11","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"9.9"}]}]}]}"#,
        r#"{"id":"DSA-9999-3","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"zlib"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:1.2.13.dfsg-2"}]}]}]}"#,
        r#"{"id":"PYSEC-9999-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"django"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.2.1"}]}]}]}"#,
        r#"{"id":"PYSEC-9999-2","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"requests"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.20.0"}]}]}]}"#,
        r#"{"id":"PYSEC-9999-3","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"jinja2"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.11"}]}]}]}"#,
    ];
    let src = dir.join("osv");
    std::fs::create_dir_all(&src).unwrap();
    for (i, r) in recs.iter().enumerate() {
        std::fs::write(src.join(format!("{i}.json")), r).unwrap();
    }
    let mut ix = Index::open(&dir.join("ix.sqlite3")).unwrap();
    ix.import_paths(&[src]).unwrap();
    ix
}

fn summary(r: &scan::ScanResult) -> Vec<String> {
    let mut v: Vec<String> = r
        .findings
        .iter()
        .map(|f| format!("{} {} {}", f.id, f.package, f.version))
        .collect();
    v.sort();
    v
}

const EXPECTED: [&str; 4] = [
    "DSA-9999-1 libssl3 3.0.11-1~deb12u1",
    "DSA-9999-3 zlib1g 1:1.2.13.dfsg-1+b1",
    "PYSEC-9999-1 django 3.2.0",
    "PYSEC-9999-2 requests 2.19.0",
];

#[test]
fn oci_layout_tar_and_directory_give_the_same_findings() {
    let dir = tempfile::tempdir().unwrap();
    let ix = advisories(dir.path());
    let files = oci_layout(&layers());
    let tar_path = dir.path().join("image-oci.tar");
    write_tar(&tar_path, &files);
    let from_tar = scan::scan_image(&ix, &tar_path).unwrap();
    assert_eq!(summary(&from_tar), EXPECTED);
    assert!(from_tar.errors.is_empty(), "{:?}", from_tar.errors);

    let layout = dir.path().join("layout");
    for (name, data) in &files {
        let p = layout.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    assert_eq!(summary(&scan::scan_image(&ix, &layout).unwrap()), EXPECTED);
}

#[test]
fn docker_save_tarball_applies_layers_in_order_with_whiteouts() {
    let dir = tempfile::tempdir().unwrap();
    let ix = advisories(dir.path());
    let ls = layers();
    let files = vec![
        ("manifest.json".to_string(), br#"[{"Config":"c.json","RepoTags":["demo:1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]"#.to_vec()),
        ("c.json".to_string(), b"{}".to_vec()),
        ("l1/layer.tar".to_string(), ls[0].clone()),
        ("l2/layer.tar".to_string(), ls[1].clone()),
    ];
    let path = dir.path().join("image.tar");
    write_tar(&path, &files);
    let fs = image::read_image(&path).unwrap();
    // The whiteout removed old/, the opaque directory hid jinja2's metadata.
    assert!(!fs.files.contains_key("old/Cargo.lock"));
    assert!(!fs.files.keys().any(|k| k.contains("jinja2")));
    // etc/os-release is a relative symlink, followed when read.
    assert_eq!(
        fs.links.get("etc/os-release").map(String::as_str),
        Some("../usr/lib/os-release")
    );
    assert_eq!(fs.read("etc/os-release"), Some(OS_RELEASE.as_bytes()));
    let (lockfiles, errors) = image::image_lockfiles(&path, &fs);
    assert!(errors.is_empty(), "{errors:?}");
    let dpkg = lockfiles
        .iter()
        .find(|l| l.kind == Kind::DpkgStatus)
        .unwrap();
    let names: Vec<&str> = dpkg.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["libssl3", "zlib1g", "bash"]);
    let zlib = &dpkg.packages[1];
    let os = zlib.os.as_ref().unwrap();
    assert_eq!(
        (
            os.release.as_str(),
            os.source_name.as_str(),
            os.source_version.as_str()
        ),
        ("12", "zlib", "1:1.2.13.dfsg-1")
    );
    assert_eq!(
        zlib.purl(),
        "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1%2Bb1?distro=debian-12"
    );
    let r = scan::scan_image(&ix, &path).unwrap();
    assert_eq!(summary(&r), EXPECTED);
    // The Debian 11 advisory for the same source package does not apply to a Debian 12 image.
    assert!(!r.findings.iter().any(|f| f.id == "DSA-9999-2"));
}

#[test]
fn dpkg_status_skips_removed_packages_and_reads_distroless_status_d() {
    let p = image::parse_dpkg_status(Path::new("status"), STATUS_V1, "12");
    let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["libssl3", "zlib1g"]);
    assert_eq!(p[1].line, 6);
    let distroless = image::parse_dpkg_status(
        Path::new("status.d/base"),
        "Package: base-files\nVersion: 12.4+deb12u5\n",
        "12",
    );
    assert_eq!(distroless[0].os.as_ref().unwrap().source_name, "base-files");
}

#[test]
fn apk_installed_database_is_read_with_origins() {
    let text = "C:Q1abc=\nP:libcrypto3\nV:3.1.4-r5\no:openssl\n\nP:busybox\nV:1.36.1-r15\n";
    let p = image::parse_apk_installed(Path::new("installed"), text, "v3.19");
    assert_eq!(p.len(), 2);
    assert_eq!(
        (
            p[0].name.as_str(),
            p[0].os.as_ref().unwrap().source_name.as_str(),
            p[0].line
        ),
        ("libcrypto3", "openssl", 1)
    );
    assert_eq!(p[1].os.as_ref().unwrap().source_name, "busybox");
    assert_eq!(
        p[0].purl(),
        "pkg:apk/alpine/libcrypto3@3.1.4-r5?distro=v3.19"
    );
}

/// A zstd stream of `data`: one frame, or (`split`) two frames with a skippable frame between.
fn zstd(data: &[u8], split: bool) -> Vec<u8> {
    use ruzstd::encoding::{CompressionLevel, compress_to_vec};
    if !split {
        return compress_to_vec(data, CompressionLevel::Fastest);
    }
    let (a, b) = data.split_at(data.len() / 2);
    let mut out = compress_to_vec(a, CompressionLevel::Fastest);
    // Skippable frame: magic 0x184D2A5? (little-endian), length, payload.
    out.extend_from_slice(&0x184D_2A53u32.to_le_bytes());
    out.extend_from_slice(&5u32.to_le_bytes());
    out.extend_from_slice(b"hello");
    out.extend_from_slice(&compress_to_vec(b, CompressionLevel::Fastest));
    out
}

/// The test layers as plain tars (the helper gzips the first).
fn plain_layers() -> Vec<Vec<u8>> {
    let mut ls = layers();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(ls[0].as_slice())
        .read_to_end(&mut raw)
        .unwrap();
    ls[0] = raw;
    ls
}

#[test]
fn oci_layout_with_zstd_layers_gives_the_same_findings() {
    let dir = tempfile::tempdir().unwrap();
    let ix = advisories(dir.path());
    let plain = plain_layers();
    for split in [false, true] {
        let ls = vec![zstd(&plain[0], split), zstd(&plain[1], !split)];
        assert!(ls[0].starts_with(&[0x28, 0xb5, 0x2f, 0xfd]));
        let files = oci_layout(&ls);
        assert!(
            files
                .iter()
                .any(|(_, b)| String::from_utf8_lossy(b).contains("tar+zstd"))
        );
        let tar_path = dir.path().join(format!("zstd-{split}.tar"));
        write_tar(&tar_path, &files);
        let r = scan::scan_image(&ix, &tar_path).unwrap();
        assert_eq!(summary(&r), EXPECTED);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let fs = image::read_image(&tar_path).unwrap();
        assert!(!fs.files.contains_key("old/Cargo.lock"));
        assert_eq!(fs.read("etc/os-release"), Some(OS_RELEASE.as_bytes()));
    }
}

#[test]
fn a_truncated_or_corrupt_zstd_layer_is_an_error_naming_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let plain = plain_layers();
    let good = zstd(&plain[0], false);
    // Truncated in the middle of the frame.
    let truncated = good[..good.len() / 2].to_vec();
    // The frame checksum (ruzstd writes one) no longer matches.
    let mut bad_sum = good.clone();
    *bad_sum.last_mut().unwrap() ^= 0xff;
    // Only a frame header.
    let header_only = good[..6].to_vec();
    for (what, layer, why) in [
        ("truncated", truncated, "layer: zstd: truncated"),
        ("checksum", bad_sum, "layer: zstd: frame checksum mismatch"),
        ("header", header_only, "layer: zstd: truncated"),
    ] {
        let files = oci_layout(&[layer.clone(), plain[1].clone()]);
        let path = dir.path().join(format!("{what}.tar"));
        write_tar(&path, &files);
        let e = image::read_image(&path).unwrap_err().to_string();
        let digest = format!("{:x}", Sha256::digest(&layer));
        assert!(
            e.contains(&format!("{}!/blobs/sha256/{digest}", path.display())) && e.contains(why),
            "{what}: {e}"
        );
    }
    // Applied directly, the same: an error, not a panic or a silently empty layer.
    let mut fs = image::Filesystem::default();
    let e = fs
        .apply_layer(Path::new("img.tar"), &[0x28, 0xb5, 0x2f, 0xfd, 0, 0][..])
        .unwrap_err();
    assert!(e.to_string().starts_with("img.tar: layer: zstd"), "{e}");
    // A truncated gzip layer too.
    let gz = layers()[0].clone();
    let e = fs
        .apply_layer(Path::new("img.tar"), &gz[..gz.len() / 2])
        .unwrap_err();
    assert!(e.to_string().starts_with("img.tar: layer: "), "{e}");
}

#[test]
fn a_tar_that_is_not_an_image_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.tar");
    write_tar(&path, &[("hello.txt".to_string(), b"hi".to_vec())]);
    let e = image::read_image(&path).unwrap_err();
    assert!(e.to_string().contains("manifest.json"), "{e}");
}

#[test]
fn docker_save_layers_linked_to_another_entry_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let ls = layers();
    let path = dir.path().join("linked.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&path).unwrap());
    let manifest =
        br#"[{"Config":"c.json","Layers":["l1/layer.tar","l2/layer.tar","l3/layer.tar"]}]"#;
    for (name, data) in [
        ("manifest.json", manifest.as_slice()),
        ("l1/layer.tar", ls[0].as_slice()),
        ("l2/layer.tar", ls[1].as_slice()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data).unwrap();
    }
    // docker save writes a layer two images share once, and links the other copy to it.
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "l3/layer.tar", "../l2/layer.tar")
        .unwrap();
    b.finish().unwrap();
    drop(b);
    let fs = image::read_image(&path).unwrap();
    assert!(fs.files.contains_key("var/lib/dpkg/status"));
    assert!(!fs.files.contains_key("old/Cargo.lock"));
}

#[test]
fn layer_names_and_digests_cannot_leave_the_image() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), layers()[1].clone()).unwrap();
    // docker save: a layer path outside the archive's names.
    let path = dir.path().join("escape.tar");
    write_tar(
        &path,
        &[(
            "manifest.json".to_string(),
            br#"[{"Layers":["../secret"]}]"#.to_vec(),
        )],
    );
    let e = image::read_image(&path).unwrap_err().to_string();
    assert!(e.contains("missing layer ../secret"), "{e}");
    // OCI layout directory: a digest that is a path.
    let layout = dir.path().join("layout");
    let mut files = oci_layout(&layers());
    let (_, index) = files.iter_mut().find(|(n, _)| n == "index.json").unwrap();
    *index = br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:../../../secret"}]}"#.to_vec();
    for (name, data) in &files {
        let p = layout.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let e = image::read_image(&layout).unwrap_err().to_string();
    assert!(e.contains("malformed digest"), "{e}");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// `docker save img | gzip > img.tar.gz`: the compressed tarball is read as the tarball itself,
/// whatever the order of its entries (here the upper layer first, a layer too large to be kept
/// while indexing, and manifest.json last, as `docker save` writes it), and an OCI layout
/// tarball likewise.
#[test]
fn a_gzip_compressed_image_tarball_gives_the_same_findings() {
    let dir = tempfile::tempdir().unwrap();
    let ix = advisories(dir.path());
    let mut ls = layers();
    // Pad the plain upper layer past the size of the files kept while indexing.
    let pad: String = (0..20_000).map(|i| format!("{i:x}\n")).collect();
    let mut upper = layer(&[("usr/share/doc/pad.txt", &pad)], false);
    upper.truncate(upper.len() - 1024); // drop the end-of-archive blocks to append
    upper.extend_from_slice(&ls[1]);
    assert!(upper.len() > 64 * 1024);
    ls[1] = upper;
    let files = vec![
        ("l2/layer.tar".to_string(), ls[1].clone()),
        ("c.json".to_string(), b"{}".to_vec()),
        ("l1/layer.tar".to_string(), ls[0].clone()),
        ("manifest.json".to_string(), br#"[{"Config":"c.json","RepoTags":["demo:1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]"#.to_vec()),
    ];
    let plain = dir.path().join("image.tar");
    write_tar(&plain, &files);
    let bytes = std::fs::read(&plain).unwrap();
    // Two gzip members, as `cat a.gz b.gz` makes: still one stream.
    let (head, tail) = bytes.split_at(bytes.len() / 3);
    let compressed = [gzip(head), gzip(tail)].concat();
    let gz_path = dir.path().join("image.tar.gz");
    std::fs::write(&gz_path, &compressed).unwrap();
    let want = image::read_image(&plain).unwrap();
    let got = image::read_image(&gz_path).unwrap();
    assert_eq!(got.files, want.files);
    assert_eq!(got.links, want.links);
    assert!(!got.files.contains_key("old/Cargo.lock"));
    let r = scan::scan_image(&ix, &gz_path).unwrap();
    assert_eq!(summary(&r), EXPECTED);
    assert!(r.errors.is_empty(), "{:?}", r.errors);

    let oci = dir.path().join("oci.tar");
    write_tar(&oci, &oci_layout(&layers()));
    let oci_gz = dir.path().join("oci.tgz");
    std::fs::write(&oci_gz, gzip(&std::fs::read(&oci).unwrap())).unwrap();
    assert_eq!(summary(&scan::scan_image(&ix, &oci_gz).unwrap()), EXPECTED);

    // A truncated or corrupt compressed tarball is an error naming it, not a partial image.
    for (name, broken) in [
        ("cut.tar.gz", compressed[..compressed.len() - 100].to_vec()),
        ("crc.tar.gz", {
            let mut b = compressed.clone();
            let n = b.len();
            b[n - 6] ^= 0xff; // the last member's CRC-32
            b
        }),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, broken).unwrap();
        let e = image::read_image(&p).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains("gzip"), "{e}");
    }
}
