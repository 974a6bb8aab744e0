//! `berth-image`: a small command line over the image store, for the interop script
//! (`interop/docker.sh`) and the benchmarks (`bench/image-*.sh`).
//!
//! ```text
//! berth-image load FILE --root R                     # docker load (FILE or -)
//! berth-image save NAME... -o FILE [--format docker|oci] --root R
//! berth-image import FILE --root R [--change C]... [--tag T] [--message M]
//! berth-image unpack NAME --root R                   # prints the chain id and timing
//! berth-image images --root R [--time]               # docker images (+ timing on stderr)
//! berth-image tag SOURCE TARGET... --root R
//! berth-image export NAME -o FILE --root R           # the image's rootfs as a tar
//! berth-image gc --root R [--grace-secs N]
//! ```

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use image::archive::{self, Format};
use image::metadata::{Filters, short_id};
use image::{Reference, Store};

#[derive(Parser)]
#[command(name = "berth-image", about = "berth's image store from the command line")]
struct Cli {
    /// The store's data root.
    #[arg(long, global = true, default_value = "/var/lib/berth/image")]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Fmt {
    Docker,
    Oci,
}

#[derive(Subcommand)]
enum Command {
    /// Load a `docker save` or OCI archive (`-` reads stdin).
    Load { file: PathBuf },
    /// Save images to an archive.
    Save {
        #[arg(required = true)]
        names: Vec<String>,
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, value_enum, default_value = "docker")]
        format: Fmt,
    },
    /// Import a root filesystem tarball (plain, gzip or zstd; `-` reads stdin; an
    /// http:// URL is fetched).
    Import {
        file: PathBuf,
        #[arg(short, long)]
        change: Vec<String>,
        #[arg(short, long)]
        tag: Option<String>,
        #[arg(short, long, default_value = "")]
        message: String,
    },
    /// Unpack an image's layers into snapshots; prints its chain id and the time.
    Unpack { name: String },
    /// List images as `docker images` does.
    Images {
        /// Print how long opening and listing took (stderr).
        #[arg(long)]
        time: bool,
    },
    /// Tag an image.
    Tag {
        source: String,
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// Write an image's root filesystem as a tar.
    Export {
        name: String,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Remove unreferenced blobs and snapshots.
    Gc {
        #[arg(long, default_value_t = 60)]
        grace_secs: u64,
    },
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth-image: {e}");
            ExitCode::FAILURE
        }
    }
}

fn input(file: &Path) -> Result<Box<dyn Read>> {
    let name = file.to_string_lossy();
    Ok(if file == Path::new("-") {
        Box::new(io::stdin().lock())
    } else if name.starts_with("http://") || name.starts_with("https://") {
        archive::fetch(&name)?
    } else {
        Box::new(File::open(file).map_err(|e| format!("open {}: {e}", file.display()))?)
    })
}

fn run(cli: Cli) -> Result<()> {
    let started = Instant::now();
    let store = Store::open(&cli.root)?;
    let opened = started.elapsed();
    match cli.command {
        Command::Load { file } => {
            let reader = BufReader::with_capacity(1 << 20, input(&file)?);
            for l in archive::load(&store, reader)? {
                if l.tags.is_empty() {
                    println!("Loaded image ID: {}", l.id);
                }
                for t in l.tags {
                    println!("Loaded image: {}", t.familiar());
                }
            }
        }
        Command::Save { names, output, format } => {
            let format = match format {
                Fmt::Docker => Format::Docker,
                Fmt::Oci => Format::Oci,
            };
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let file = File::create(&output).map_err(|e| format!("create {}: {e}", output.display()))?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            archive::save(&store, &names, format, &mut out)?;
            out.flush()?;
        }
        Command::Import { file, change, tag, message } => {
            let mut reader = BufReader::with_capacity(1 << 20, input(&file)?);
            let compression = archive::detect_compression(io::BufRead::fill_buf(&mut reader)?);
            let reference = tag.as_deref().map(Reference::parse).transpose()?;
            let img = archive::import(&store, reader, compression, &change, &message, reference.as_ref())?;
            println!("{}", img.id);
        }
        Command::Unpack { name } => {
            let img = store.images().resolve(&name)?;
            let start = Instant::now();
            let u = store.unpack_layers(&img)?;
            let took = start.elapsed();
            let fresh: Vec<_> = u.layers.iter().flatten().collect();
            let bytes: u64 = fresh.iter().map(|s| s.tar_size).sum();
            let files: u64 = fresh.iter().map(|s| s.files).sum();
            println!("{}", u.chain_id());
            eprintln!(
                "unpacked {} of {} layers ({:.1} MB of tar, {files} files) in {:.3} s",
                fresh.len(),
                u.layers.len(),
                bytes as f64 / 1e6,
                took.as_secs_f64()
            );
        }
        Command::Images { time } => {
            let list_start = Instant::now();
            let images = store.images().list(&Filters::default())?;
            let sizes = store.image_sizes()?;
            let mut out = BufWriter::new(io::stdout().lock());
            writeln!(out, "{:<40} {:<20} {:<14} {:>10}", "REPOSITORY", "TAG", "IMAGE ID", "SIZE")?;
            let mut rows = 0;
            for img in &images {
                let size = sizes.get(&img.id).map_or(img.size, |s| s.size);
                let size = format!("{:.1}MB", size as f64 / 1e6);
                let mut tags = img.repo_tags.clone();
                tags.sort_by_key(Reference::full);
                if tags.is_empty() {
                    writeln!(out, "{:<40} {:<20} {:<14} {size:>10}", "<none>", "<none>", short_id(&img.id))?;
                    rows += 1;
                }
                for t in tags {
                    let tag = t.tag().unwrap_or("<none>");
                    writeln!(out, "{:<40} {tag:<20} {:<14} {size:>10}", t.familiar_repository(), short_id(&img.id))?;
                    rows += 1;
                }
            }
            out.flush()?;
            if time {
                eprintln!(
                    "images: {rows} rows; open {:.2} ms, list+sizes+print {:.2} ms, total {:.2} ms",
                    opened.as_secs_f64() * 1e3,
                    list_start.elapsed().as_secs_f64() * 1e3,
                    started.elapsed().as_secs_f64() * 1e3
                );
            }
        }
        Command::Tag { source, targets } => {
            let img = store.images().resolve(&source)?;
            for t in targets {
                store.images().tag(&Reference::parse(&t)?, &img.id)?;
            }
        }
        Command::Export { name, output } => export(&store, &name, &output)?,
        Command::Gc { grace_secs } => {
            let r = store.gc_with_grace(std::time::Duration::from_secs(grace_secs))?;
            println!(
                "removed {} blobs ({} bytes) and {} snapshots ({} bytes)",
                r.content.removed.len(),
                r.content.bytes_freed,
                r.removed_snapshots.len(),
                r.snapshot_bytes_freed
            );
        }
    }
    Ok(())
}

/// Removes a view snapshot and its mount point, unmounting first.
struct View<'a> {
    store: &'a Store,
    key: String,
    dir: PathBuf,
    mounted: bool,
}

impl Drop for View<'_> {
    fn drop(&mut self) {
        if self.mounted {
            let _ = image::snapshot::unmount(&self.dir);
        }
        let _ = std::fs::remove_dir(&self.dir);
        let _ = self.store.snapshots().remove(&self.key);
    }
}

fn export(store: &Store, name: &str, output: &Path) -> Result<()> {
    let img = store.images().resolve(name)?;
    let chain = store.unpack(&img)?;
    let key = format!("export-{}-{}", std::process::id(), short_id(&img.id));
    let mounts = store.snapshots().view(&key, &chain)?;
    let dir = store.root().join(format!("{key}.mnt"));
    let mut view = View { store, key, dir: dir.clone(), mounted: false };
    std::fs::create_dir_all(&dir)?;
    image::snapshot::mount_all(&mounts, &dir)?;
    view.mounted = true;
    let file = File::create(output).map_err(|e| format!("create {}: {e}", output.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let stats = archive::export(&dir, &mut out)?;
    out.flush()?;
    eprintln!("exported {} entries ({} bytes)", stats.entries, stats.tar_size);
    Ok(())
}
