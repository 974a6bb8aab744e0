//! `docker rmi` and `docker image prune`, with Docker's rules and messages:
//!
//! - By name: only that reference goes (plus the repository's digest references when
//!   it was the repository's last tag). The image goes too once nothing names it.
//!   Refused while a container uses the image, unless forced (then only untagged).
//! - By ID: an image named in one repository loses its references and goes; one named
//!   in several repositories needs force. A stopped container's image needs force; a
//!   running container's image can never be deleted by ID.
//!
//! Only records change here: the blobs and snapshots an image used are reclaimed by
//! garbage collection.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Error, ImageStore, Result, State, normalise_ref, short_id};
use crate::digest::Digest;
use crate::reference::Reference;

/// A container that uses an image, as the container store sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedBy {
    pub container: String,
    pub running: bool,
}

/// One line of `docker rmi` output: `{"Untagged": "busybox:latest"}` or
/// `{"Deleted": "sha256:…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Deleted {
    Untagged(String),
    Deleted(String),
}

/// `POST /images/prune`'s answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    #[serde(rename = "ImagesDeleted")]
    pub deleted: Vec<Deleted>,
    /// Sum of the deleted images' recorded sizes.
    #[serde(rename = "SpaceReclaimed")]
    pub space_reclaimed: u64,
}

fn short(s: &str) -> &str {
    let s = s.strip_prefix("sha256:").unwrap_or(s);
    s.get(..12).unwrap_or(s)
}

/// Docker's test for "the user typed (part of) the ID" rather than a name.
fn is_id_prefix_of(id: &Digest, s: &str) -> bool {
    id.to_string().starts_with(s) || id.hex().starts_with(s)
}

/// All references are in one repository, with at most one tag (Docker's
/// `isSingleReference`): deleting by ID may then drop them without force.
fn is_single_reference(refs: &[Reference]) -> bool {
    if refs.len() <= 1 {
        return refs.len() == 1;
    }
    let mut tag: Option<&Reference> = None;
    let mut digest_repos = BTreeSet::new();
    for r in refs {
        if r.digest().is_some() {
            digest_repos.insert(r.repository());
        } else if tag.is_none() {
            tag = Some(r);
        } else {
            return false;
        }
    }
    let one = tag.unwrap_or(&refs[0]);
    digest_repos.len() == 1 && digest_repos.contains(&one.repository())
}

/// Why an image cannot be deleted now.
struct Conflict {
    hard: bool,
    used: bool,
    message: String,
}

impl Conflict {
    fn into_error(self, id: &Digest) -> Error {
        let how = if self.hard {
            "cannot be forced"
        } else {
            "must be forced"
        };
        Error::Conflict(format!(
            "conflict: unable to delete {} ({how}) - {}",
            short_id(id),
            self.message
        ))
    }
}

fn all_refs_sorted(st: &State, id: &Digest) -> Vec<Reference> {
    let img = &st.images[id];
    let mut refs: Vec<Reference> = img
        .repo_tags
        .iter()
        .chain(&img.repo_digests)
        .cloned()
        .collect();
    // Docker lists them sorted by full name (so a tag before a digest of one repository).
    refs.sort_by_key(Reference::full);
    refs
}

impl ImageStore {
    /// `docker rmi [-f] NAME|ID`. `in_use` tells whether a container uses an image.
    pub fn delete(
        &self,
        name_or_id: &str,
        force: bool,
        in_use: &dyn Fn(&Digest) -> Option<UsedBy>,
    ) -> Result<Vec<Deleted>> {
        let mut st = self.write();
        let id = st.resolve(name_or_id)?;
        let used = in_use(&id);
        let mut out = Vec::new();
        let mut removed_repository_ref = false;

        if !is_id_prefix_of(&id, name_or_id) {
            if let Some(u) = used.as_ref().filter(|_| !force) {
                return Err(Error::Conflict(format!(
                    "conflict: unable to remove repository reference \"{name_or_id}\" (must force) - container {} is using its referenced image {}",
                    short(&u.container),
                    short_id(&id)
                )));
            }
            let key = normalise_ref(&Reference::parse(name_or_id)?)?;
            // It may have resolved through the image's target digest, which is not a
            // reference that can be removed.
            if st.lookup_ref(&key).as_ref() != Some(&id) {
                return Err(Error::NotFound(name_or_id.to_string()));
            }
            st.drop_ref(&id, &key);
            out.push(Deleted::Untagged(key.familiar()));
            if key.digest().is_none() {
                // The repository's last tag went: its digest references go with it.
                let repo = key.repository();
                let img = &st.images[&id];
                if !img.repo_tags.iter().any(|t| t.repository() == repo) {
                    let digests: Vec<Reference> = img
                        .repo_digests
                        .iter()
                        .filter(|d| d.repository() == repo)
                        .cloned()
                        .collect();
                    for d in digests {
                        st.drop_ref(&id, &d);
                        out.push(Deleted::Untagged(d.familiar()));
                    }
                }
            }
            let img = st.images[&id].clone();
            if !img.repo_tags.is_empty() || !img.repo_digests.is_empty() {
                st.persist(&img)?;
                return Ok(out);
            }
            removed_repository_ref = true;
        } else {
            let refs = all_refs_sorted(&st, &id);
            if is_single_reference(&refs) {
                if let Some(u) = used.as_ref().filter(|u| u.running || !force) {
                    return Err(used_conflict(u).into_error(&id));
                }
                for r in refs {
                    st.drop_ref(&id, &r);
                    out.push(Deleted::Untagged(r.familiar()));
                }
            }
        }

        let has_refs = {
            let img = &st.images[&id];
            !img.repo_tags.is_empty() || !img.repo_digests.is_empty()
        };
        let conflict = match &used {
            Some(u) if u.running => Some(used_conflict(u)),
            _ if has_refs && !force => Some(Conflict {
                hard: false,
                used: false,
                message: "image is referenced in multiple repositories".into(),
            }),
            Some(u) if !force => Some(used_conflict(u)),
            _ => None,
        };
        if let Some(c) = conflict {
            let img = st.images[&id].clone();
            st.persist(&img)?;
            if removed_repository_ref && (has_refs || c.used) {
                // Untagging was what was asked; the image stays for its container.
                return Ok(out);
            }
            return Err(c.into_error(&id));
        }
        for r in all_refs_sorted(&st, &id) {
            out.push(Deleted::Untagged(r.familiar()));
        }
        st.remove_record(&id)?;
        out.push(Deleted::Deleted(id.to_string()));
        Ok(out)
    }

    /// `docker image prune [-a]`: deletes dangling images (untagged), or with `all`
    /// every image no container uses, with their references.
    pub fn prune(
        &self,
        all: bool,
        in_use: &dyn Fn(&Digest) -> Option<UsedBy>,
        wanted: &dyn Fn(&super::Image) -> bool,
    ) -> Result<PruneReport> {
        let mut st = self.write();
        let mut ids: Vec<Digest> = st
            .images
            .values()
            .filter(|i| all || i.is_dangling())
            .filter(|i| wanted(i))
            .filter(|i| in_use(&i.id).is_none())
            .map(|i| i.id.clone())
            .collect();
        ids.sort();
        let mut report = PruneReport::default();
        for id in ids {
            for r in all_refs_sorted(&st, &id) {
                report.deleted.push(Deleted::Untagged(r.familiar()));
            }
            report.space_reclaimed += st.images[&id].size;
            st.remove_record(&id)?;
            report.deleted.push(Deleted::Deleted(id.to_string()));
        }
        Ok(report)
    }
}

fn used_conflict(u: &UsedBy) -> Conflict {
    let state = if u.running { "running" } else { "stopped" };
    Conflict {
        hard: u.running,
        used: true,
        message: format!(
            "image is being used by {state} container {}",
            short(&u.container)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{add_image, fixture, r};
    use super::*;

    const CONTAINER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn unused(_: &Digest) -> Option<UsedBy> {
        None
    }

    fn untagged(s: &str) -> Deleted {
        Deleted::Untagged(s.into())
    }

    #[test]
    fn deleting_one_of_several_tags_only_untags() {
        let f = fixture();
        let s = &f.store;
        let id = add_image(s, 1, "2024-01-01T00:00:00Z", &[]);
        s.tag(&r("busybox"), &id).unwrap();
        s.tag(&r("mine:1"), &id).unwrap();
        assert_eq!(
            s.delete("busybox", false, &unused).unwrap(),
            vec![untagged("busybox:latest")]
        );
        assert_eq!(s.get(&id).unwrap().familiar_tags(), vec!["mine:1"]);
        // The last name takes the image with it.
        assert_eq!(
            s.delete("mine:1", false, &unused).unwrap(),
            vec![untagged("mine:1"), Deleted::Deleted(id.to_string())]
        );
        assert!(s.get(&id).is_none());
        assert!(matches!(s.resolve(id.hex()), Err(Error::NotFound(_))));
        assert!(matches!(
            s.delete("mine:1", false, &unused),
            Err(Error::NotFound(_))
        ));
        // Gone from disk too.
        let reopened = ImageStore::open(
            f.dir.path(),
            crate::content::ContentStore::open(f.dir.path()).unwrap(),
        )
        .unwrap();
        assert!(reopened.all().is_empty());
    }

    #[test]
    fn deleting_by_id_needs_force_across_repositories() {
        let f = fixture();
        let s = &f.store;
        let id = add_image(s, 1, "2024-01-01T00:00:00Z", &[]);
        s.tag(&r("busybox"), &id).unwrap();
        s.tag(&r("other"), &id).unwrap();
        let err = s
            .delete(&id.hex()[..12], false, &unused)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                &id.hex()[..12]
            )
        );
        assert_eq!(s.get(&id).unwrap().repo_tags.len(), 2);
        let out = s.delete(&id.hex()[..12], true, &unused).unwrap();
        assert_eq!(
            out,
            vec![
                untagged("busybox:latest"),
                untagged("other:latest"),
                Deleted::Deleted(id.to_string())
            ]
        );
    }

    #[test]
    fn deleting_by_id_with_one_repository_drops_its_references() {
        let f = fixture();
        let s = &f.store;
        let id = add_image(s, 1, "2024-01-01T00:00:00Z", &[]);
        let target = s.get(&id).unwrap().target.digest;
        s.tag(&r("busybox"), &id).unwrap();
        s.add_repo_digest(&r("busybox").with_digest(target.clone()), &id)
            .unwrap();
        let out = s.delete(&id.to_string(), false, &unused).unwrap();
        assert_eq!(
            out,
            vec![
                untagged("busybox:latest"),
                untagged(&format!("busybox@{target}")),
                Deleted::Deleted(id.to_string())
            ]
        );
    }

    #[test]
    fn removing_the_last_tag_of_a_repository_drops_its_digests() {
        let f = fixture();
        let s = &f.store;
        let id = add_image(s, 1, "2024-01-01T00:00:00Z", &[]);
        let target = s.get(&id).unwrap().target.digest;
        s.tag(&r("busybox"), &id).unwrap();
        s.tag(&r("keep"), &id).unwrap();
        s.add_repo_digest(&r("busybox").with_digest(target.clone()), &id)
            .unwrap();
        let out = s.delete("busybox:latest", false, &unused).unwrap();
        assert_eq!(
            out,
            vec![
                untagged("busybox:latest"),
                untagged(&format!("busybox@{target}"))
            ]
        );
        assert_eq!(s.get(&id).unwrap().familiar_tags(), vec!["keep:latest"]);
    }

    #[test]
    fn images_in_use_are_protected() {
        let f = fixture();
        let s = &f.store;
        let id = add_image(s, 1, "2024-01-01T00:00:00Z", &[]);
        s.tag(&r("busybox"), &id).unwrap();
        let stopped = |_: &Digest| {
            Some(UsedBy {
                container: CONTAINER.into(),
                running: false,
            })
        };
        let running = |_: &Digest| {
            Some(UsedBy {
                container: CONTAINER.into(),
                running: true,
            })
        };

        let err = s
            .delete("busybox", false, &stopped)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "conflict: unable to remove repository reference \"busybox\" (must force) - container 0123456789ab is using its referenced image {}",
                &id.hex()[..12]
            )
        );
        let err = s.delete(id.hex(), false, &stopped).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "(must be forced) - image is being used by stopped container 0123456789ab"
            ),
            "{err}"
        );
        let err = s.delete(id.hex(), true, &running).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "(cannot be forced) - image is being used by running container 0123456789ab"
            ),
            "{err}"
        );
        assert_eq!(s.get(&id).unwrap().familiar_tags(), vec!["busybox:latest"]);

        // Forced by name while running: untagged, but the image stays for the container.
        assert_eq!(
            s.delete("busybox", true, &running).unwrap(),
            vec![untagged("busybox:latest")]
        );
        assert!(s.get(&id).is_some());
        // Forced by ID while stopped: gone.
        assert_eq!(
            s.delete(id.hex(), true, &stopped).unwrap(),
            vec![Deleted::Deleted(id.to_string())]
        );
    }

    #[test]
    fn output_is_dockers_json() {
        let v = serde_json::to_value(vec![
            untagged("busybox:latest"),
            Deleted::Deleted("sha256:x".into()),
        ])
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"Untagged": "busybox:latest"}, {"Deleted": "sha256:x"}])
        );
    }

    #[test]
    fn prune_dangling_or_all_unused() {
        let f = fixture();
        let s = &f.store;
        let tagged = add_image(s, 1, "2024-01-01T00:00:00Z", &[]);
        let dangling = add_image(s, 2, "2024-01-01T00:00:00Z", &[]);
        let used = add_image(s, 3, "2024-01-01T00:00:00Z", &[]);
        s.tag(&r("busybox"), &tagged).unwrap();
        let in_use = |d: &Digest| {
            (*d == used).then(|| UsedBy {
                container: CONTAINER.into(),
                running: false,
            })
        };

        let report = s.prune(false, &in_use, &|_| true).unwrap();
        assert_eq!(report.deleted, vec![Deleted::Deleted(dangling.to_string())]);
        assert_eq!(report.space_reclaimed, 1002);
        let report = s.prune(true, &in_use, &|_| true).unwrap();
        assert_eq!(
            report.deleted,
            vec![
                untagged("busybox:latest"),
                Deleted::Deleted(tagged.to_string())
            ]
        );
        assert_eq!(
            s.all().iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
            vec![used]
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["SpaceReclaimed"], 1001);
    }

    #[test]
    fn single_reference_rule() {
        let d = format!("@sha256:{}", "a".repeat(64));
        let refs = |v: &[&str]| {
            v.iter()
                .map(|s| Reference::parse(s).unwrap())
                .collect::<Vec<_>>()
        };
        assert!(!is_single_reference(&[]));
        assert!(is_single_reference(&refs(&["a"])));
        assert!(is_single_reference(&refs(&["a", &format!("a{d}")])));
        assert!(!is_single_reference(&refs(&["a", "b"])));
        assert!(!is_single_reference(&refs(&["a", &format!("b{d}")])));
        assert!(!is_single_reference(&refs(&[
            &format!("a{d}"),
            &format!("b{d}")
        ])));
    }
}
