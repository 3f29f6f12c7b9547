//! The content descriptor: what manifests and indexes say about each blob they name.
//!
//! Serialised with its keys in the order of the OCI specification's Go struct (`mediaType`,
//! `digest`, `size`, `annotations`, `platform`), leaving out what is empty, so the documents
//! makes writes are the same bytes on every run; read leniently (a missing `mediaType` is
//! empty, unknown keys are ignored), so what registries serve is understood.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::platform::Platform;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl Descriptor {
    /// A descriptor with no annotations and no platform.
    pub fn new(media_type: &str, digest: &Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: *digest,
            size,
            annotations: BTreeMap::new(),
            platform: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_keys_in_the_specification_order_and_reads_leniently() {
        let mut d = Descriptor::new("application/x", &Digest::of(b"x"), 1);
        assert_eq!(
            serde_json::to_string(&d).expect("json"),
            format!(
                r#"{{"mediaType":"application/x","digest":"{}","size":1}}"#,
                d.digest
            )
        );
        d.annotations.insert("k".into(), "v".into());
        d.platform = Some(Platform::new("linux", "amd64", None));
        let text = serde_json::to_string(&d).expect("json");
        assert!(
            text.ends_with(
                r#""annotations":{"k":"v"},"platform":{"os":"linux","architecture":"amd64"}}"#
            ),
            "{text}"
        );
        let read: Descriptor = serde_json::from_str(&text).expect("reads back");
        assert_eq!(read, d);
        let bare: Descriptor = serde_json::from_str(&format!(
            r#"{{"digest":"{}","size":3,"urls":[]}}"#,
            d.digest
        ))
        .expect("lenient");
        assert_eq!((bare.media_type.as_str(), bare.size), ("", 3));
        assert!(serde_json::from_str::<Descriptor>(r#"{"digest":"md5:00","size":3}"#).is_err());
    }
}
