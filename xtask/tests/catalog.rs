//! Recipes and targets are data: a new CPython patch release is one new file under
//! `recipes/`, with no change to the Rust.

use std::path::{Path, PathBuf};
use sysroot_manifest::Flavor;
use xtask::model::tools::Install;
use xtask::model::{Catalog, Layout, Settings};

fn copy(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from).into_iter().flatten() {
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else if e.file_type().is_file() {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn repo_copy(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["recipes", "patches"] {
        copy(&root.join(sub), &dir.join(sub));
    }
    std::fs::create_dir_all(dir.join("sysroots")).unwrap();
    for e in std::fs::read_dir(root.join("sysroots")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "toml") {
            std::fs::copy(e.path(), dir.join("sysroots").join(e.file_name())).unwrap();
        }
    }
    dir
}

fn settings(root: &Path) -> Settings {
    Settings {
        layout: Layout {
            root: root.to_path_buf(),
            sysroots: root.join("sysroots"),
            cache: root.join("cache"),
            work: root.join("work"),
        },
        mirror: None,
        offline: true,
        jobs: 1,
        binary_caches: Vec::new(),
        trusted_keys: Vec::new(),
    }
}

/// A plan's options for a local build without PGO: what the keys below are computed for.
fn plan_options() -> xtask::pipeline::Options {
    xtask::pipeline::Options {
        pgo: false,
        lto: true,
        bolt: false,
        force: false,
        substitute: xtask::pipeline::Substitute::Never,
    }
}

#[test]
fn a_new_patch_release_is_one_new_file() {
    let dir = repo_copy("new-release");
    let s = settings(&dir);
    let before = Catalog::load(&s.layout).unwrap();
    let base = before.recipe(None).unwrap();
    let (major, minor, patch) = {
        let v: Vec<u32> = base
            .version
            .split('.')
            .map(|p| p.parse().unwrap())
            .collect();
        (v[0], v[1], v[2])
    };
    let next = format!("{major}.{minor}.{}", patch + 1);
    let text = std::fs::read_to_string(&base.path)
        .unwrap()
        .replace(&base.version, &next)
        .replace("default = true", "default = false");
    std::fs::write(dir.join("recipes").join(format!("{next}.toml")), text).unwrap();

    let after = Catalog::load(&s.layout).unwrap();
    let target = xtask::model::target::native_name();
    let new = after
        .resolve(&s, target, Some(&next), Flavor::Static, Install::No)
        .unwrap();
    let old = after
        .resolve(&s, target, Some(&base.version), Flavor::Static, Install::No)
        .unwrap();
    assert!(new.sysroot_dir().ends_with(format!("{target}/{next}")));
    let opts = plan_options();
    let (new_plan, old_plan) = (
        xtask::pipeline::plan(&new, &opts).unwrap(),
        xtask::pipeline::plan(&old, &opts).unwrap(),
    );
    assert_ne!(new_plan.key, old_plan.key, "a new release is a new build");
    assert!(
        new_plan
            .inputs
            .iter()
            .any(|i| i.kind == "source" && i.name.contains(&next))
    );
    // The release that was there before builds exactly as before: adding a file rebuilds nothing.
    let unchanged = before
        .resolve(&s, target, Some(&base.version), Flavor::Static, Install::No)
        .unwrap();
    assert_eq!(
        xtask::pipeline::plan(&unchanged, &opts).unwrap().key,
        old_plan.key
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_recipe_naming_a_missing_target_or_patch_is_refused() {
    let dir = repo_copy("bad-recipe");
    let s = settings(&dir);
    let base = Catalog::load(&s.layout)
        .unwrap()
        .recipe(None)
        .unwrap()
        .path
        .clone();
    let text = std::fs::read_to_string(&base).unwrap();
    std::fs::write(
        &base,
        format!("{text}\n[[patches]]\nfile = \"missing.patch\"\n"),
    )
    .unwrap();
    let err = format!("{:#}", Catalog::load(&s.layout).err().unwrap());
    assert!(err.contains("missing.patch"), "{err}");
    std::fs::write(
        &base,
        text.replace("[configure]", "[configure]\ntargets.riscv64 = [\"--x\"]"),
    )
    .unwrap();
    let err = format!("{:#}", Catalog::load(&s.layout).err().unwrap());
    assert!(err.contains("riscv64") && err.contains("valid"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 21, item 7: bad data in a target or recipe file, in a copy of the repository: each
/// is refused at load, naming the file and what to write instead.
#[test]
fn bad_names_and_empty_commands_in_data_files_are_refused() {
    let dir = repo_copy("bad-data");
    let s = settings(&dir);
    let target = dir.join("sysroots/x86_64.toml");
    let recipe = Catalog::load(&s.layout)
        .unwrap()
        .recipe(None)
        .unwrap()
        .path
        .clone();
    let (target_text, recipe_text) = (
        std::fs::read_to_string(&target).unwrap(),
        std::fs::read_to_string(&recipe).unwrap(),
    );
    let cases = [
        (
            &target,
            target_text.replace("cc = [\"gcc\"]", "cc = []"),
            "empty command: name the program",
        ),
        (
            &target,
            target_text.replace("deps = [\"zlib\"", "deps = [\"../zlib\""),
            "must be a plain file name",
        ),
        (
            &recipe,
            format!("{recipe_text}\n[[patches]]\nfile = \"../../etc/evil.patch\"\n"),
            "without `..`",
        ),
    ];
    for (file, text, why) in cases {
        std::fs::write(file, &text).unwrap();
        let err = format!("{:#}", Catalog::load(&s.layout).err().unwrap());
        assert!(
            err.contains(why) && err.contains(&file.display().to_string()),
            "{err}"
        );
        std::fs::write(&target, &target_text).unwrap();
        std::fs::write(&recipe, &recipe_text).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_toolchain_wrapper_of_the_checkout_is_an_input() {
    let dir = repo_copy("wrapper-input");
    let s = settings(&dir);
    let wrapper = dir.join("xtask/toolchains/wrapped-gcc");
    std::fs::create_dir_all(wrapper.parent().unwrap()).unwrap();
    std::fs::write(&wrapper, "#!/bin/sh\nexec gcc \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let base = xtask::model::target::native_name();
    std::fs::write(
        dir.join("sysroots/wrapped.toml"),
        format!(
            "extends = \"{base}\"\nname = \"wrapped\"\n\n[toolchain]\n\
             cc = [\"{{root}}/xtask/toolchains/wrapped-gcc\"]\n"
        ),
    )
    .unwrap();
    let opts = plan_options();
    let key = || {
        let catalog = Catalog::load(&s.layout).unwrap();
        let model = catalog
            .resolve(&s, "wrapped", None, Flavor::Static, Install::No)
            .unwrap();
        let plan = xtask::pipeline::plan(&model, &opts).unwrap();
        let named = plan
            .inputs
            .iter()
            .any(|i| i.kind == "toolchain-file" && i.name == "xtask/toolchains/wrapped-gcc");
        (plan.key, named)
    };
    let (before, named) = key();
    assert!(named, "the wrapper is not among the inputs");
    std::fs::write(&wrapper, "#!/bin/sh\nexec gcc -O1 \"$@\"\n").unwrap();
    assert_ne!(key().0, before, "a changed wrapper builds again");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_training_set_and_how_the_profile_is_used_are_inputs_of_a_pgo_build() {
    let dir = repo_copy("pgo-inputs");
    let s = settings(&dir);
    let base = xtask::model::target::native_name();
    let target = dir.join("sysroots/trained.toml");
    let write_target = |flags: &str| {
        std::fs::write(
            &target,
            format!("extends = \"{base}\"\nname = \"trained\"\n\n[toolchain]\npgo_use_flags = [{flags}]\n"),
        )
        .unwrap()
    };
    let opts = xtask::pipeline::Options {
        pgo: true,
        ..plan_options()
    };
    let plan = || {
        let catalog = Catalog::load(&s.layout).unwrap();
        let model = catalog
            .resolve(&s, "trained", None, Flavor::Static, Install::No)
            .unwrap();
        assert!(model.target.optimize.pgo, "{base} has PGO");
        (
            xtask::pipeline::plan(&model, &opts).unwrap().key,
            model.recipe.path.clone(),
        )
    };
    write_target("\"-fprofile-use\"");
    let (before, recipe) = plan();
    write_target("\"-fprofile-use\", \"-fprofile-partial-training\"");
    let (partial, _) = plan();
    assert_ne!(partial, before, "other profile-use flags build again");
    let text = std::fs::read_to_string(&recipe).unwrap();
    assert!(
        text.contains("\ntask = ["),
        "{} has a [pgo] task",
        recipe.display()
    );
    std::fs::write(
        &recipe,
        text.replacen("\ntask = [", "\ntask = [\"-Wd\", ", 1),
    )
    .unwrap();
    assert_ne!(plan().0, partial, "another training task builds again");
    std::fs::remove_dir_all(&dir).unwrap();
}
