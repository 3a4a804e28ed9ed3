//! Opening a lake (a folder, or a prefix in an object store), where its
//! parts are, and devex's own state files in it (`_devex/`).

use super::commit::local_store;
use super::*;

impl Lake {
    /// Opens the lake at `path` (a folder, or an `s3://`, `gs://` or
    /// `az://` URL), creating the folder when it does not exist.
    pub fn create_or_open(path: impl AsRef<Path>) -> Result<Lake> {
        let path = path.as_ref();
        if let Location::Folder(folder) = Location::parse(path)? {
            std::fs::create_dir_all(folder.join(STATE_DIR)).map_err(|source| {
                Error::LakeNotWritable {
                    path: folder.to_path_buf(),
                    source,
                }
            })?;
        }
        Self::open_existing(path)
    }

    /// Opens an existing lake for reading; a missing folder is an error that
    /// says how to make one. (A lake in an object store is not checked
    /// here: an empty prefix reads as an empty lake.)
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Lake> {
        let path = path.as_ref();
        match Location::parse(path)? {
            Location::Folder(folder) => Self::open_folder(&folder),
            Location::Remote(remote) => Self::open_remote(remote),
        }
    }

    fn open_folder(path: &Path) -> Result<Lake> {
        if !path.is_dir() {
            return Err(Error::InvalidFile {
                file: path.display().to_string(),
                message: "no lake folder here; create one with `devex demo --lake DIR` or `devex import TABLE FILE --lake DIR`".into(),
            });
        }
        let root = path.canonicalize().map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let store: Arc<dyn ObjectStore> = Arc::new(local_store(&root)?);
        Ok(Lake {
            root,
            remote: None,
            local: store.clone(),
            store,
            indexes: Mutex::new(DedupIndex::default()),
            cleaned_temporaries: std::sync::atomic::AtomicBool::new(false),
            quarantine_listing: Default::default(),
            shared_derived: Default::default(),
        })
    }

    fn open_remote(remote: Remote) -> Result<Lake> {
        let root = location::cache_folder(&remote.url);
        Self::open_remote_cached_at(remote, root)
    }

    /// A lake in `remote` whose derived files are cached in the folder `root`.
    pub(super) fn open_remote_cached_at(remote: Remote, root: PathBuf) -> Result<Lake> {
        std::fs::create_dir_all(root.join(DERIVED_DIR)).map_err(|source| {
            Error::LakeNotWritable {
                path: root.clone(),
                source,
            }
        })?;
        let store: Arc<dyn ObjectStore> = match remote.prefix.as_str() {
            "" => remote.bucket.clone(),
            prefix => Arc::new(PrefixStore::new(remote.bucket.clone(), prefix)),
        };
        Ok(Lake {
            local: Arc::new(local_store(&root)?),
            root,
            remote: Some(remote),
            store,
            indexes: Mutex::new(DedupIndex::default()),
            cleaned_temporaries: std::sync::atomic::AtomicBool::new(false),
            quarantine_listing: Default::default(),
            shared_derived: Default::default(),
        })
    }

    /// The local folder of the lake; for a lake in an object store, the
    /// local folder of its derived files.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the lake is, as the user named it: a folder or a URL.
    pub fn location(&self) -> String {
        match &self.remote {
            Some(remote) => remote.url.clone(),
            None => self.root.display().to_string(),
        }
    }

    /// Where `relative` (a path inside the lake) is, for messages.
    pub fn shown(&self, relative: &str) -> String {
        match &self.remote {
            Some(remote) => format!("{}/{relative}", remote.url),
            None => self.root.join(relative).display().to_string(),
        }
    }

    /// The object store that holds the lake's tables (paths relative to the lake).
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// For a lake in an object store: the bucket's URL and store, which a
    /// query engine registers so that [`Lake::table_url`] resolves.
    pub fn remote_store(&self) -> Option<(url::Url, Arc<dyn ObjectStore>)> {
        self.remote
            .as_ref()
            .map(|r| (r.bucket_url.clone(), r.bucket.clone()))
    }

    /// URL of a table's folder, for DataFusion listing tables.
    pub fn table_url(&self, table: &TableSpec) -> String {
        self.data_url(&format!("{}/", table.name))
    }

    /// URL of a path inside the lake (a data file, a table's folder).
    pub fn data_url(&self, relative: &str) -> String {
        match &self.remote {
            Some(remote) => format!("{}/{relative}", remote.url),
            None => format!("file://{}/{relative}", self.root.display()),
        }
    }

    /// Where a file of devex's own state is, for messages.
    pub fn state_location(&self, name: &str) -> String {
        self.shown(&format!("{STATE_DIR}/{name}"))
    }

    /// Reads a file of devex's own state (sync cursors, tokens); `None`
    /// when there is none.
    pub async fn read_state_file(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let location = StorePath::from(format!("{STATE_DIR}/{name}"));
        match self.store.get(&location).await {
            Ok(found) => found.bytes().await.map(|b| Some(b.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
        .map_err(|source| Error::Storage {
            path: self.state_location(name),
            source,
        })
    }

    /// A version of a state file that changes whenever the file does (its
    /// ETag or modification time); `None` when there is no such file.
    pub async fn state_file_version(&self, name: &str) -> Result<Option<String>> {
        let location = StorePath::from(format!("{STATE_DIR}/{name}"));
        match self.store.head(&location).await {
            Ok(meta) => Ok(Some(format!(
                "{}/{}/{}",
                meta.e_tag.unwrap_or_default(),
                meta.last_modified.timestamp_nanos_opt().unwrap_or_default(),
                meta.size
            ))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(Error::Storage {
                path: self.state_location(name),
                source,
            }),
        }
    }

    /// Writes a file of devex's own state (e.g. a kept webhook delivery) as
    /// durably as a data file: temporary name, fsync, rename, folder fsync
    /// (one put in an object store). `name` may hold folders, e.g.
    /// `webhooks/github/ID.json`.
    pub async fn write_state_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let (folder, file) = match name.rsplit_once('/') {
            Some((folder, file)) => (format!("{STATE_DIR}/{folder}"), file),
            None => (STATE_DIR.to_string(), name),
        };
        self.commit_file(&folder, file, bytes, PutMode::Overwrite)
            .await
            .map(drop)
    }

    /// Reads a secret kept in the lake's state folder, creating it with 32
    /// random bytes on first use (e.g. the pseudonym key). Of two processes
    /// creating it at once, both end up with the one written first.
    pub async fn read_or_create_secret(&self, name: &str) -> Result<Vec<u8>> {
        for _ in 0..3 {
            if let Some(text) = self.read_state_file(name).await? {
                let text = String::from_utf8_lossy(&text);
                return hex::decode(text.trim()).map_err(|e| Error::InvalidFile {
                    file: self.state_location(name),
                    message: format!("not a hex secret ({e}); delete it to create a new one"),
                });
            }
            let secret: [u8; 32] = rand::random();
            let created = self
                .commit_file(
                    STATE_DIR,
                    name,
                    hex::encode(secret).as_bytes(),
                    PutMode::Create,
                )
                .await;
            match created {
                Ok(true) => return Ok(secret.to_vec()),
                // Another process created it first: read theirs.
                Ok(false) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Internal(format!(
            "{} could neither be read nor created",
            self.state_location(name)
        )))
    }
}
