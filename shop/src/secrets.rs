//! The secrets several shop instances must share: the MAC key of cookies,
//! CSRF and order tokens, the admin password and the API token.
//!
//! They come, in order, from the environment (`BOXOFFICE_SHOP_MAC_KEY` as
//! 64 hex characters, `BOXOFFICE_SHOP_ADMIN_PASSWORD`,
//! `BOXOFFICE_SHOP_API_TOKEN`), then from a secret file of `name=value`
//! lines (`mac_key`, `admin_password`, `api_token`). A file that does not
//! exist yet is created with fresh random values and mode 0600, and the
//! caller is told so (to print the admin password once). Shops behind one
//! load balancer must be given the same file or environment: a cookie
//! signed by one is then valid at every other.

use crate::tokens::random_token;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Environment variable of the MAC key (64 hex characters).
pub const ENV_MAC_KEY: &str = "BOXOFFICE_SHOP_MAC_KEY";
/// Environment variable of the admin password.
pub const ENV_ADMIN_PASSWORD: &str = "BOXOFFICE_SHOP_ADMIN_PASSWORD";
/// Environment variable of the API bearer token.
pub const ENV_API_TOKEN: &str = "BOXOFFICE_SHOP_API_TOKEN";
/// Largest secret file read, in bytes.
pub const SECRET_FILE_BYTES_MAX: u64 = 64 * 1024;

/// The shared secrets.
#[derive(Clone)]
pub struct Secrets {
    /// Key of every MAC.
    pub mac_key: [u8; 32],
    /// Password of the admin pages.
    pub admin_password: String,
    /// Bearer token of the check-in API.
    pub api_token: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

/// Why the secrets could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The file could not be read or written.
    #[error("secret file {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        error: std::io::Error,
    },
    /// A value is malformed.
    #[error("{0}")]
    Malformed(String),
    /// Nothing says what the secrets are.
    #[error(
        "no secrets: give --secret-file PATH (created if missing) or set {ENV_MAC_KEY}, {ENV_ADMIN_PASSWORD} and {ENV_API_TOKEN}"
    )]
    Missing,
}

fn parse_key(text: &str, from: &str) -> Result<[u8; 32], SecretsError> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut key)
        .map_err(|_| SecretsError::Malformed(format!("{from}: the MAC key must be 64 hex characters")))?;
    Ok(key)
}

/// Secrets from `env` (a lookup, so tests need not touch the process
/// environment) and `file`. Returns whether the file was created.
pub fn load(
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Secrets, bool), SecretsError> {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut created = false;
    if let Some(path) = file {
        let io = |error| SecretsError::Io { path: path.display().to_string(), error };
        if path.exists() {
            let len = std::fs::metadata(path).map_err(io)?.len();
            if len > SECRET_FILE_BYTES_MAX {
                return Err(SecretsError::Malformed(format!("{}: larger than 64 KiB", path.display())));
            }
            for line in std::fs::read_to_string(path).map_err(io)?.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (name, value) = line.split_once('=').ok_or_else(|| {
                    SecretsError::Malformed(format!("{}: a line without `=`", path.display()))
                })?;
                values.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        } else {
            values.insert("mac_key".into(), hex::encode(rand::random::<[u8; 32]>()));
            values.insert("admin_password".into(), random_token()[..16].to_owned());
            values.insert("api_token".into(), random_token());
            write_private(path, &values).map_err(io)?;
            created = true;
        }
    }
    let pick = |env_name: &str, name: &str| env(env_name).or_else(|| values.get(name).cloned());
    let (Some(key), Some(admin_password), Some(api_token)) = (
        pick(ENV_MAC_KEY, "mac_key"),
        pick(ENV_ADMIN_PASSWORD, "admin_password"),
        pick(ENV_API_TOKEN, "api_token"),
    ) else {
        return Err(SecretsError::Missing);
    };
    if admin_password.is_empty() || api_token.len() < 16 {
        return Err(SecretsError::Malformed(
            "the admin password must not be empty and the API token must have at least 16 characters".into(),
        ));
    }
    let secrets = Secrets { mac_key: parse_key(&key, "mac_key")?, admin_password, api_token };
    Ok((secrets, created))
}

fn write_private(path: &Path, values: &BTreeMap<String, String>) -> std::io::Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "# boxoffice-shop secrets: keep private; every shop instance needs the same values.")?;
    for (name, value) in values {
        writeln!(file, "{name}={value}")?;
    }
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_secret_file_is_created_private_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/shop-secrets");
        let (first, created) = load(Some(&path), &|_| None).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (second, created) = load(Some(&path), &|_| None).unwrap();
        assert!(!created);
        assert_eq!(first.mac_key, second.mac_key);
        assert_eq!(first.admin_password, second.admin_password);
    }

    #[test]
    fn the_environment_overrides_the_file_and_alone_is_enough() {
        let env = |name: &str| match name {
            ENV_MAC_KEY => Some("11".repeat(32)),
            ENV_ADMIN_PASSWORD => Some("pw".into()),
            ENV_API_TOKEN => Some("t".repeat(20)),
            _ => None,
        };
        let (secrets, _) = load(None, &env).unwrap();
        assert_eq!(secrets.mac_key, [0x11; 32]);
        assert_eq!(secrets.admin_password, "pw");
        assert!(matches!(load(None, &|_| None), Err(SecretsError::Missing)));
        let bad = |name: &str| if name == ENV_MAC_KEY { Some("xyz".into()) } else { env(name) };
        assert!(matches!(load(None, &bad), Err(SecretsError::Malformed(_))));
    }
}
