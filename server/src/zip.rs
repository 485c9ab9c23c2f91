//! A small ZIP writer (PKWARE APPNOTE 6.3: deflated entries, UTF-8 names, no ZIP64) for the
//! Markdown export. Archives stay below 4 GiB and 65,535 entries; `finish` says so otherwise.

use chrono::{DateTime, Datelike, Timelike, Utc};
use flate2::Compression;
use flate2::write::DeflateEncoder;
use std::io::Write;

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL: u32 = 0x0605_4b50;
/// 2.0: deflate.
const VERSION: u16 = 20;
/// Bit 11: names are UTF-8.
const UTF8_NAMES: u16 = 1 << 11;
const DEFLATE: u16 = 8;

#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("the archive would be larger than a ZIP without ZIP64 can hold")]
    TooLarge,
    #[error("could not compress: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Default)]
pub struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    entries: usize,
}

/// MS-DOS date and time, as ZIP stores them (local time is unknown: UTC is written).
fn dos_time(at: DateTime<Utc>) -> (u16, u16) {
    let year = at.year().clamp(1980, 2107) as u16;
    let time = (at.hour() as u16) << 11 | (at.minute() as u16) << 5 | (at.second() as u16 / 2);
    let date = (year - 1980) << 9 | (at.month() as u16) << 5 | at.day() as u16;
    (time, date)
}

fn u32_of(n: usize) -> Result<u32, ZipError> {
    u32::try_from(n).map_err(|_| ZipError::TooLarge)
}

impl ZipWriter {
    /// Adds one file; `name` uses `/` between folders.
    pub fn add(&mut self, name: &str, data: &[u8], modified: DateTime<Utc>) -> Result<(), ZipError> {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data)?;
        let compressed = encoder.finish()?;
        let crc = crc32fast::hash(data);
        let (time, date) = dos_time(modified);
        let offset = u32_of(self.out.len())?;
        let (csize, usize_) = (u32_of(compressed.len())?, u32_of(data.len())?);
        let name_len = u16::try_from(name.len()).map_err(|_| ZipError::TooLarge)?;

        let common = |buf: &mut Vec<u8>| {
            buf.extend_from_slice(&UTF8_NAMES.to_le_bytes());
            buf.extend_from_slice(&DEFLATE.to_le_bytes());
            buf.extend_from_slice(&time.to_le_bytes());
            buf.extend_from_slice(&date.to_le_bytes());
            buf.extend_from_slice(&crc.to_le_bytes());
            buf.extend_from_slice(&csize.to_le_bytes());
            buf.extend_from_slice(&usize_.to_le_bytes());
            buf.extend_from_slice(&name_len.to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        };

        self.out.extend_from_slice(&LOCAL_HEADER.to_le_bytes());
        self.out.extend_from_slice(&VERSION.to_le_bytes());
        common(&mut self.out);
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(&compressed);

        self.central.extend_from_slice(&CENTRAL_HEADER.to_le_bytes());
        self.central.extend_from_slice(&VERSION.to_le_bytes()); // made by
        self.central.extend_from_slice(&VERSION.to_le_bytes()); // needed
        common(&mut self.central);
        self.central.extend_from_slice(&0u16.to_le_bytes()); // comment length
        self.central.extend_from_slice(&0u16.to_le_bytes()); // disk
        self.central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        self.central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        self.central.extend_from_slice(&offset.to_le_bytes());
        self.central.extend_from_slice(name.as_bytes());
        self.entries += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, ZipError> {
        let entries = u16::try_from(self.entries).map_err(|_| ZipError::TooLarge)?;
        let central_offset = u32_of(self.out.len())?;
        let central_size = u32_of(self.central.len())?;
        self.out.append(&mut self.central);
        u32_of(self.out.len() + 22)?;
        self.out.extend_from_slice(&END_OF_CENTRAL.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes()); // this disk
        self.out.extend_from_slice(&0u16.to_le_bytes()); // disk with the central directory
        self.out.extend_from_slice(&entries.to_le_bytes());
        self.out.extend_from_slice(&entries.to_le_bytes());
        self.out.extend_from_slice(&central_size.to_le_bytes());
        self.out.extend_from_slice(&central_offset.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes()); // comment length
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use flate2::read::DeflateDecoder;
    use std::io::Read;

    fn u16_at(b: &[u8], at: usize) -> usize {
        u16::from_le_bytes([b[at], b[at + 1]]) as usize
    }

    fn u32_at(b: &[u8], at: usize) -> usize {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
    }

    /// Reads the archive back through its central directory, as unzip does.
    fn read(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
        let end = zip.len() - 22;
        assert_eq!(u32_at(zip, end), END_OF_CENTRAL as usize);
        let (count, mut at) = (u16_at(zip, end + 10), u32_at(zip, end + 16));
        let mut files = Vec::new();
        for _ in 0..count {
            assert_eq!(u32_at(zip, at), CENTRAL_HEADER as usize);
            let (crc, csize, name_len, local) =
                (u32_at(zip, at + 16), u32_at(zip, at + 20), u16_at(zip, at + 28), u32_at(zip, at + 42));
            let name = String::from_utf8(zip[at + 46..at + 46 + name_len].to_vec()).unwrap();
            assert_eq!(u32_at(zip, local), LOCAL_HEADER as usize);
            let data_at = local + 30 + u16_at(zip, local + 26) + u16_at(zip, local + 28);
            let mut data = Vec::new();
            DeflateDecoder::new(&zip[data_at..data_at + csize]).read_to_end(&mut data).unwrap();
            assert_eq!(crc32fast::hash(&data) as usize, crc);
            files.push((name, data));
            at += 46 + name_len;
        }
        files
    }

    #[test]
    fn writes_an_archive_that_reads_back() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 30, 44).unwrap();
        let mut zip = ZipWriter::default();
        zip.add("Sales/welcome-call.md", "---\ntitle: \"Welcome\"\n---\nGreet {{name}}.".as_bytes(), at).unwrap();
        zip.add("übersicht.md", &b"x".repeat(10_000), at).unwrap();
        let bytes = zip.finish().unwrap();
        let files = read(&bytes);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].0, "Sales/welcome-call.md");
        assert!(files[0].1.starts_with(b"---\ntitle"));
        assert_eq!(files[1], ("übersicht.md".to_owned(), b"x".repeat(10_000)));
        assert!(bytes.len() < 1_000, "deflated: {}", bytes.len());
        assert_eq!(dos_time(at), (10 << 11 | 30 << 5 | 22, 46 << 9 | 11 << 5 | 23));
    }
}
