//! `berth volume create`: the create body docker's CLI sends, and the new
//! volume's name printed (the daemon's pick when none is given).

use api::volumes::{Volume, VolumeCreateBody};

use crate::cli::volume::VolumeCreateArgs;
use crate::commands::network::create::map_opt;
use crate::context::Cli;
use crate::error::{CliError, Result};

/// The create body for the command line. The name may come from the
/// argument or the hidden `--name`, not both (docker's words).
pub fn request(args: &VolumeCreateArgs) -> Result<VolumeCreateBody, String> {
    let name = match &args.volume {
        Some(_) if !args.name.is_empty() => {
            return Err(
                "conflicting options: cannot specify a volume-name through both --name and as a positional arg"
                    .to_string(),
            );
        }
        Some(volume) => volume.clone(),
        None => args.name.clone(),
    };
    Ok(VolumeCreateBody {
        name,
        driver: args.driver.clone(),
        driver_opts: map_opt(&args.opt),
        labels: map_opt(&args.label),
    })
}

pub async fn run(cli: &mut Cli<'_>, args: VolumeCreateArgs) -> Result<()> {
    let body = request(&args).map_err(CliError::Other)?;
    let volume: Volume = cli.client().await?.post_json("/volumes/create", &[], &body).await?;
    writeln!(cli.out, "{}", volume.name)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::volume::{VolumeArgs, VolumeCommand};
    use crate::cli::{Command, Deferred, Opts};

    fn args(argv: &[&str]) -> VolumeCreateArgs {
        let argv = ["berth", "volume", "create"].iter().chain(argv);
        match Opts::try_parse_from(argv).expect("parses").command {
            Some(Command::Volume(Deferred(VolumeArgs { command: Some(VolumeCommand::Create(a)) }))) => a,
            other => panic!("not create: {other:?}"),
        }
    }

    #[test]
    fn the_body_docker_sends() {
        let body = request(&args(&["--label", "a=b", "--label", "c", "-o", "type=tmpfs", "-o", "o=size=1m", "v1"]))
            .expect("valid");
        assert_eq!(
            serde_json::to_value(&body).expect("serializes"),
            serde_json::json!({
                "Name": "v1",
                "Driver": "local",
                "DriverOpts": {"type": "tmpfs", "o": "size=1m"},
                "Labels": {"a": "b", "c": ""},
            })
        );
        assert_eq!(request(&args(&["--name", "v2"])).expect("valid").name, "v2");
        // No name: the daemon picks one.
        assert_eq!(request(&args(&[])).expect("valid").name, "");
        assert_eq!(
            request(&args(&["--name", "v2", "v3"])),
            Err("conflicting options: cannot specify a volume-name through both --name and as a positional arg"
                .to_string())
        );
    }
}
