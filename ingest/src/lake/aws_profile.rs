//! The AWS shared config and credentials files, as the AWS SDKs and CLI
//! read them: the profile `AWS_PROFILE` (else `default`) of
//! `AWS_SHARED_CREDENTIALS_FILE` (else `~/.aws/credentials`) and of
//! `AWS_CONFIG_FILE` (else `~/.aws/config`, where a profile's section is
//! `[profile NAME]`). The credentials file wins over the config file.

use std::path::PathBuf;

use object_store::aws::AmazonS3ConfigKey;

/// The S3 settings the profile gives (none when there is no file).
pub fn settings() -> Vec<(AmazonS3ConfigKey, String)> {
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |variable: &str, default: &str| {
        std::env::var_os(variable)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(default)))
    };
    let config_section = match profile.as_str() {
        "default" => "default".to_string(),
        name => format!("profile {name}"),
    };
    let mut out = Vec::new();
    let sources = [
        (
            file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
            profile.clone(),
        ),
        (file("AWS_CONFIG_FILE", ".aws/config"), config_section),
    ];
    for (path, section) in sources {
        let Some(ini) = path.and_then(|p| ini::Ini::load_from_file(p).ok()) else {
            continue;
        };
        let Some(values) = ini.section(Some(section.as_str())) else {
            continue;
        };
        for (name, value) in values.iter() {
            let key = match name {
                "aws_access_key_id" => AmazonS3ConfigKey::AccessKeyId,
                "aws_secret_access_key" => AmazonS3ConfigKey::SecretAccessKey,
                "aws_session_token" => AmazonS3ConfigKey::Token,
                "region" => AmazonS3ConfigKey::Region,
                "endpoint_url" => AmazonS3ConfigKey::Endpoint,
                _ => continue,
            };
            if !out.iter().any(|(k, _)| *k == key) {
                out.push((key, value.to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_profile_of_both_files_is_read_credentials_first() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("credentials");
        let config = dir.path().join("config");
        std::fs::write(
            &credentials,
            "[default]\naws_access_key_id = AKIADEFAULT\n[ci]\naws_access_key_id = AKIACI\naws_secret_access_key = secret\n",
        )
        .unwrap();
        std::fs::write(
            &config,
            "[profile ci]\nregion = eu-west-1\naws_access_key_id = IGNORED\nendpoint_url = http://127.0.0.1:9000\n",
        )
        .unwrap();
        // The only test that sets these variables (the process is shared).
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &credentials);
        std::env::set_var("AWS_CONFIG_FILE", &config);
        std::env::set_var("AWS_PROFILE", "ci");
        let read = settings();
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_SHARED_CREDENTIALS_FILE");
        std::env::remove_var("AWS_CONFIG_FILE");
        let value = |key: AmazonS3ConfigKey| {
            read.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(value(AmazonS3ConfigKey::AccessKeyId), Some("AKIACI"));
        assert_eq!(value(AmazonS3ConfigKey::SecretAccessKey), Some("secret"));
        assert_eq!(value(AmazonS3ConfigKey::Region), Some("eu-west-1"));
        assert_eq!(
            value(AmazonS3ConfigKey::Endpoint),
            Some("http://127.0.0.1:9000")
        );
    }
}
