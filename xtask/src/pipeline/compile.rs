//! Configure and build CPython: configure, then either a plain `make` or the PGO stages.
//!
//! The PGO stages are driven one by one rather than through `make profile-opt`, for three
//! reasons: a failing test in the profile task must not throw away a 15-minute build (the
//! profile is still collected, and the failure is logged and recorded); a cross build runs
//! the instrumented interpreter under the target's runner (qemu), which CPython's Makefile
//! cannot do; and each stage gets its own log.

use crate::checks::Interp;
use crate::model::Model;
use crate::model::recipe::TestModuleBuild;
pub use crate::model::sysroot::PREFIX;
use crate::pipeline::clibs::Built;
use crate::pipeline::training::{TestModules, TrainingSet};
use crate::util::template::{self, Vars};
use crate::util::{fs, process};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use sysroot_manifest::{Flavor, ProfileRun};

/// One CPython build tree and what it is built with.
pub struct Build<'a> {
    pub model: &'a Model<'a>,
    pub pgo: bool,
    pub lto: bool,
    /// BOLT will rewrite the executables: they keep their relocations.
    pub bolt: Option<&'a crate::model::target::BoltConfig>,
    pub src: PathBuf,
    pub dir: PathBuf,
    pub logs: PathBuf,
    pub libs: &'a [Built],
    /// A native interpreter of the same version, for cross builds.
    pub build_python: Option<PathBuf>,
    /// Toolchain commands with `{tools}` resolved.
    pub cc: Vec<String>,
    pub ar: Vec<String>,
    pub ranlib: Vec<String>,
    /// `SOURCE_DATE_EPOCH` for every step.
    pub epoch: String,
}

pub struct Configured {
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl Build<'_> {
    pub fn log(&self, name: &str) -> PathBuf {
        self.logs.join(format!("{name}.log"))
    }

    /// Where `log(name)` is kept once the sysroot is published (`record::write` copies the
    /// logs there; the scratch tree goes).
    pub fn log_published(&self, name: &str) -> PathBuf {
        self.model
            .sysroot_dir()
            .join("logs")
            .join(format!("{name}.log"))
    }

    /// `{src}`, `{tools}` and `{root}`, for the target's configure values.
    fn vars(&self) -> Vars {
        let mut vars = self.model.tools.vars();
        vars.insert("src".into(), vec![self.src.display().to_string()]);
        vars
    }

    pub fn configure(&self) -> Result<Configured> {
        fs::create_dir_all(&self.dir)?;
        let args = self.configure_args()?;
        let env = self.configure_env()?;
        self.write_setup_local(&[])?;
        let mut cmd = Command::new("sh");
        cmd.arg(self.src.join("configure"))
            .args(&args)
            .current_dir(&self.dir)
            .envs(&env);
        scrub_env(&mut cmd, &self.epoch);
        process::run_logged("configure", &mut cmd, &self.log("1-configure"))?;
        self.check_planned_modules()?;
        Ok(Configured { args, env })
    }

    fn configure_args(&self) -> Result<Vec<String>> {
        let target = self.model.target;
        let mut args = vec![format!("--prefix={PREFIX}")];
        args.push(
            if self.model.flavor == Flavor::Shared {
                "--enable-shared"
            } else {
                "--disable-shared"
            }
            .into(),
        );
        if self.pgo {
            args.push("--enable-optimizations".into());
        }
        if self.lto {
            args.push("--with-lto".into());
        }
        if let Some(bp) = &self.build_python {
            args.push(format!("--build={}", build_triple(&self.src)?));
            args.push(format!("--host={}", target.host));
            args.push(format!("--with-build-python={}", bp.display()));
        }
        args.extend(self.model.recipe.configure_args_for(&target.name));
        args.extend(template::expand(&target.configure.args, &self.vars())?);
        for lib in self.libs {
            let vars = template::vars([("prefix", lib.prefix.display().to_string())]);
            args.extend(template::expand(&lib.lib.configure_args, &vars)?);
        }
        Ok(args)
    }

    fn configure_env(&self) -> Result<BTreeMap<String, String>> {
        let flags = self.model.target.flavor(self.model.flavor);
        let mut env = BTreeMap::new();
        env.insert("CC".into(), self.cc.join(" "));
        env.insert("AR".into(), self.ar.join(" "));
        env.insert("RANLIB".into(), self.ranlib.join(" "));
        let bolt_cflags = self.bolt.map(|b| b.cflags.as_slice()).unwrap_or_default();
        let bolt_ldflags = self.bolt.map(|b| b.ldflags.as_slice()).unwrap_or_default();
        env.insert(
            "CFLAGS".into(),
            flags
                .cflags
                .iter()
                .chain(bolt_cflags)
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
        );
        let mut cppflags = Vec::new();
        let mut ldflags: Vec<String> = flags
            .ldflags
            .iter()
            .chain(bolt_ldflags)
            .map(|f| for_makefile(f))
            .collect();
        let mut pkgconfig = Vec::new();
        for lib in self.libs {
            cppflags.push(format!("-I{}", lib.prefix.join("include").display()));
            ldflags.push(format!("-L{}", lib.prefix.join("lib").display()));
            pkgconfig.push(lib.prefix.join("lib/pkgconfig").display().to_string());
        }
        env.insert("CPPFLAGS".into(), cppflags.join(" "));
        env.insert("LDFLAGS".into(), ldflags.join(" "));
        // Only our libraries: the host's .pc files must not leak into a hermetic build.
        env.insert("PKG_CONFIG_LIBDIR".into(), pkgconfig.join(":"));
        env.insert("PKG_CONFIG_PATH".into(), String::new());
        // Every stdlib extension module is compiled into libpython, none into lib-dynload.
        env.insert("MODULE_BUILDTYPE".into(), "static".into());
        for module in self.model.recipe.absent_for(&self.model.target.name).keys() {
            env.insert(format!("py_cv_module_{module}"), "n/a".into());
        }
        let vars = self.vars();
        for (k, v) in &self.model.target.configure.env {
            env.insert(k.clone(), template::expand_str(v, &vars)?);
        }
        Ok(env)
    }

    /// configure drops a module whose library check fails (a link test, a missing header);
    /// without this the build would only find out in the final verification, an hour later.
    fn check_planned_modules(&self) -> Result<()> {
        let planned = make_var(&self.dir, "MODBUILT_NAMES")?;
        let planned: Vec<&str> = planned.split_whitespace().collect();
        let target = &self.model.target.name;
        let dropped: Vec<String> = self
            .model
            .recipe
            .builtin_for(target)
            .into_iter()
            .filter(|m| !planned.contains(&m.as_str()))
            .collect();
        if !dropped.is_empty() {
            bail!(
                "configure will not build {} (see the checks for them in {}); fix the C library or \
                 list them under [modules.absent.{target}] in the recipe with the reason",
                dropped.join(", "),
                self.dir.join("config.log").display(),
            );
        }
        Ok(())
    }

    /// `Modules/Setup.local`: the recipe's extra static modules (and, for the instrumented
    /// stage only, the test modules the profile task needs), then every absent module under
    /// `*disabled*`, which also stops 3.11's setup.py from building it from host libraries.
    fn write_setup_local(&self, test_modules: &[String]) -> Result<()> {
        let mut text = String::from("# Written by xtask from the recipe.\n*static*\n");
        let vars: Vars = self
            .libs
            .iter()
            .map(|l| (l.lib.name.clone(), vec![l.prefix.display().to_string()]))
            .collect();
        for line in &self.model.recipe.setup_local {
            text.push_str(&template::expand_str(line, &vars)?);
            text.push('\n');
        }
        for line in test_modules {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str("*disabled*\n");
        for module in self.model.recipe.absent_for(&self.model.target.name).keys() {
            text.push_str(module);
            text.push('\n');
        }
        fs::create_dir_all(&self.dir.join("Modules"))?;
        fs::write(&self.dir.join("Modules/Setup.local"), text)
    }

    /// The definitions of the recipe's PGO test modules, from the `Modules/Setup.stdlib`
    /// configure wrote (where `--disable-test-modules` left them commented out).
    fn test_module_lines(&self) -> Result<Vec<String>> {
        let stdlib = fs::read_to_string(&self.dir.join("Modules/Setup.stdlib"))?;
        self.model
            .recipe
            .pgo
            .test_modules
            .iter()
            .map(|m| {
                stdlib
                    .lines()
                    .map(|l| l.trim_start_matches('#').trim())
                    .find(|l| l.split_whitespace().next() == Some(m.as_str()))
                    .map(String::from)
                    .with_context(|| format!("Modules/Setup.stdlib defines no test module {m} (the recipe's [pgo] test_modules)"))
            })
            .collect()
    }

    /// The recipe's test modules as extension modules in `dest`, compiled from their
    /// `Modules/Setup.stdlib` definitions against this build tree's headers, for a training
    /// run of an interpreter without them (BOLT's; PGO's where they cannot be built in).
    /// Plain `-O2`: they are not what the profile is about.
    pub fn test_extensions(&self, dest: &Path, log: &str) -> Result<()> {
        fs::create_dir_all(dest)?;
        let suffix = make_var(&self.dir, "EXT_SUFFIX")?;
        let log = self.log(log);
        for line in self.test_module_lines()? {
            let (name, words) = setup_line(&line)?;
            let (program, args) = self.cc.split_first().context("the target's C compiler")?;
            let mut cmd = Command::new(program);
            cmd.args(args)
                .args([
                    "-shared",
                    "-fPIC",
                    "-O2",
                    "-DNDEBUG",
                    // A shared stdlib module's; each test module keeps or clears it as it
                    // needs (_testinternalcapi uses the internal API, _testcapi must not).
                    "-DPy_BUILD_CORE_MODULE",
                ])
                // Their assertions name source files: not by this machine's path.
                .arg(format!("-ffile-prefix-map={}=.", self.src.display()))
                .arg(format!("-I{}", self.dir.display()))
                .arg(format!("-I{}", self.src.join("Include").display()))
                .arg(format!("-I{}", self.src.join("Include/internal").display()))
                .arg(format!("-I{}", self.src.join("Modules").display()));
            for w in &words {
                match w {
                    SetupWord::Source(file) => cmd.arg(self.src.join("Modules").join(file)),
                    SetupWord::Flag(flag) => cmd.arg(flag),
                };
            }
            cmd.arg("-o").arg(dest.join(format!("{name}{suffix}")));
            scrub_env(&mut cmd, &self.epoch);
            process::run_logged(&format!("test module {name} for training"), &mut cmd, &log)?;
        }
        Ok(())
    }

    fn make(&self, step: &str, log: &str, targets: &[&str]) -> Result<()> {
        let mut cmd = Command::new("make");
        cmd.arg(format!("-j{}", self.model.settings.jobs))
            .args(&self.model.target.toolchain.make_args)
            .args(targets)
            .current_dir(&self.dir);
        scrub_env(&mut cmd, &self.epoch);
        process::run_logged(step, &mut cmd, &self.log(log))
    }

    /// Builds the interpreter and libpython; with PGO, returns what the profile run did.
    pub fn build(&self) -> Result<Option<ProfileRun>> {
        if !self.pgo {
            self.make("build", "2-build", &[])?;
            return Ok(None);
        }
        let test_modules = self.instrumented_test_modules()?;
        self.make(
            "PGO 1/3: instrumented build",
            "2-build-instrumented",
            &["profile-gen-stamp"],
        )?;
        let profile = self.run_profile_task(self.onto_build_path(test_modules)?)?;
        // What `profile-run-stamp` does after the task, minus the task itself; the test
        // modules leave Setup.local, so the optimised libpython never has them.
        self.write_setup_local(&[])?;
        let mut clean = Command::new("make");
        clean.arg("clean-retain-profile").current_dir(&self.dir);
        scrub_env(&mut clean, &self.epoch);
        process::run_logged(
            "PGO: keep the profile, drop the instrumented objects",
            &mut clean,
            &self.log("4-clean-retain-profile"),
        )?;
        fs::write(&self.dir.join("profile-run-stamp"), "")?;
        let use_flags = &self.model.target.toolchain.pgo_use_flags;
        let use_flags = if use_flags.is_empty() {
            make_var(&self.dir, "PGO_PROF_USE_FLAG")?
                .split_whitespace()
                .map(String::from)
                .collect()
        } else {
            use_flags.clone()
        };
        // On make's command line, so that it reaches the sub-make profile-opt starts.
        let assignment = format!("PGO_PROF_USE_FLAG={}", use_flags.join(" "));
        self.make(
            "PGO 3/3: optimised build",
            "5-build-optimized",
            &["profile-opt", &assignment],
        )?;
        let log = fs::read_to_string(&self.log("5-build-optimized"))?;
        if !log.contains("-fprofile-use") && !log.contains("-fprofile-instr-use") {
            bail!(
                "the optimised build did not use the profile (no -fprofile-use in {})",
                self.log("5-build-optimized").display()
            );
        }
        Ok(Some(ProfileRun {
            use_flags,
            ..profile
        }))
    }

    /// Gives the instrumented interpreter the recipe's test modules the way the recipe says
    /// (a target whose executables cannot load extension modules goes without).
    fn instrumented_test_modules(&self) -> Result<TestModules> {
        let pgo = &self.model.recipe.pgo;
        if pgo.test_modules.is_empty() {
            return Ok(TestModules::Absent);
        }
        Ok(match pgo.instrumented_test_modules {
            TestModuleBuild::BuiltIn => {
                self.write_setup_local(&self.test_module_lines()?)?;
                TestModules::BuiltIn
            }
            TestModuleBuild::Extensions if self.model.target.platform.loads_extension_modules() => {
                // Beside the build tree: the instrumented build's `make clean` deletes its
                // `.so` files.
                let dir = self.dir.with_file_name("pgo-test-modules");
                self.test_extensions(&dir, "2-test-modules")?;
                TestModules::Extensions { dir, into: None }
            }
            TestModuleBuild::Extensions => TestModules::Absent,
        })
    }

    /// Extension test modules go, for the task, into the build tree's `build/lib.*`, which
    /// the interpreter has on its path even under `-I`.
    fn onto_build_path(&self, test_modules: TestModules) -> Result<TestModules> {
        let TestModules::Extensions { dir, .. } = test_modules else {
            return Ok(test_modules);
        };
        let rel = fs::read_to_string(&self.dir.join("pybuilddir.txt"))?;
        let into = self.dir.join(rel.trim());
        Ok(TestModules::Extensions {
            dir,
            into: into.is_dir().then_some(into),
        })
    }

    /// The training set, run by the instrumented interpreter in the build tree.
    fn run_profile_task(&self, test_modules: TestModules) -> Result<ProfileRun> {
        let mut env = vec![("SOURCE_DATE_EPOCH".to_string(), self.epoch.clone())];
        for assignment in make_var(&self.dir, "RUNSHARED")?.split_whitespace() {
            if let Some((k, v)) = assignment.split_once('=') {
                env.push((k.to_string(), v.to_string()));
            }
        }
        let python = self.dir.join(make_var(&self.dir, "BUILDPYTHON")?);
        let names = match test_modules {
            TestModules::Absent => Vec::new(),
            _ => self.model.recipe.pgo.test_modules.clone(),
        };
        let training = TrainingSet {
            pgo: &self.model.recipe.pgo,
            test_modules,
            corpus: self.model.layout().corpus_dir(),
            builtin: self.model.recipe.builtin_for(&self.model.target.name),
            target: self.model.target.name.clone(),
            cwd: self.dir.clone(),
            env,
            log: self.log("3-profile-task"),
            log_published: Some(self.log_published("3-profile-task")),
        };
        let interp = Interp::new(&self.model.runner, &python);
        let run = training.run(&interp)?;
        let profile_files = count_profiles(&self.dir);
        if profile_files == 0 {
            bail!(
                "the profile task (exit status {}) wrote no profile data; see {}. Without a \
                 profile the optimised build would silently be unoptimised, so the build stops here",
                run.exit_status,
                training.log.display()
            );
        }
        Ok(ProfileRun {
            task: training.task(&interp).to_vec(),
            training: run.ran,
            test_modules: names,
            use_flags: Vec::new(),
            exit_status: run.exit_status,
            profile_files,
            seconds: run.seconds,
        })
    }
}

/// One word of a `Modules/Setup` module definition after its name.
#[derive(Debug, PartialEq)]
enum SetupWord {
    /// A C file, relative to `Modules/`.
    Source(String),
    /// A compiler or linker flag (`-I...`, `-D...`, `-l...`).
    Flag(String),
}

/// A module definition's name and words. Make variables (`$(LIBM)`) are refused: the test
/// modules are compiled outside the Makefile, where nothing would expand them.
fn setup_line(line: &str) -> Result<(String, Vec<SetupWord>)> {
    let mut words = line.split_whitespace();
    let name = words.next().context("an empty module definition")?;
    let words = words
        .map(|w| match w {
            _ if w.contains('$') => bail!(
                "the module definition {line:?} uses a make variable ({w}), which a test module \
                 compiled for training cannot expand; remove the module from the recipe's [pgo] test_modules"
            ),
            _ if w.starts_with('-') => Ok(SetupWord::Flag(w.to_string())),
            _ if w.ends_with(".c") => Ok(SetupWord::Source(w.to_string())),
            _ => bail!("the module definition {line:?} has a word that is neither a C file nor a flag: {w}"),
        })
        .collect::<Result<_>>()?;
    Ok((name.to_string(), words))
}

/// Profile data files in a build tree (`.gcda`, `.profraw`).
fn count_profiles(dir: &Path) -> usize {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x == "gcda" || x == "profraw")
        })
        .count()
}

/// A flag as it must be written into LDFLAGS, which configure's own link tests use as is and
/// make hands to the shell: `$ORIGIN` becomes `\$$ORIGIN` (make leaves `\$ORIGIN`, the shell
/// `$ORIGIN`). Quoting the whole flag instead would make gcc take it for a file name in
/// configure's tests. Flags without `$` are unchanged.
fn for_makefile(flag: &str) -> String {
    flag.replace('$', "\\$$")
}

/// A make variable's value as the build's Makefile computes it.
pub fn make_var(build_dir: &Path, name: &str) -> Result<String> {
    use std::io::Write;
    let mut child = Command::new("make")
        .args([
            "--no-print-directory",
            "-s",
            "-f",
            "Makefile",
            "-f",
            "-",
            "xtask-print-var",
        ])
        .current_dir(build_dir)
        .env_remove("MAKEFLAGS")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("running make in {}", build_dir.display()))?;
    child
        .stdin
        .take()
        .context("make's stdin")?
        .write_all(format!("xtask-print-var:\n\t@echo '$({name})'\n").as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "make could not print {name} from {}/Makefile: {}",
            build_dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The build machine's GNU triple, as CPython's own config.guess reports it.
fn build_triple(src: &Path) -> Result<String> {
    Ok(
        process::stdout(Command::new("sh").arg(src.join("config.guess")))?
            .trim()
            .to_string(),
    )
}

/// Variables from the user's shell that would silently change a hermetic build; the
/// source's date for reproducible timestamps.
pub fn scrub_env(cmd: &mut Command, epoch: &str) {
    for var in [
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONSAFEPATH",
        "CFLAGS_NODIST",
        "LDFLAGS_NODIST",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("SOURCE_DATE_EPOCH", epoch);
    cmd.env("LC_ALL", "C");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_flags_survive_make_and_the_shell() {
        // What the linker sees once make and the shell are done with the Makefile's value.
        let flag = "-Wl,-rpath,$ORIGIN/../lib";
        let dir = std::env::temp_dir().join(format!("xtask-makefile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Makefile"),
            format!(
                "LDFLAGS={}\nall:\n\t@printf '%s\\n' $(LDFLAGS)\n",
                for_makefile(flag)
            ),
        )
        .unwrap();
        let out = Command::new("make")
            .arg("-s")
            .current_dir(&dir)
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{flag}\n"));
        // configure's link tests use the value unexpanded: one word, not a quoted file name.
        assert!(!for_makefile(flag).contains(['\'', '"', ' ']));
        assert_eq!(for_makefile("-no-pie"), "-no-pie");
    }

    #[test]
    fn test_module_definitions_split_into_sources_and_flags() {
        // 3.13's definition, several files in subdirectories of Modules/.
        let (name, words) =
            setup_line("_testcapi _testcapimodule.c _testcapi/vectorcall.c -DX=1").unwrap();
        assert_eq!(name, "_testcapi");
        assert_eq!(
            words,
            vec![
                SetupWord::Source("_testcapimodule.c".into()),
                SetupWord::Source("_testcapi/vectorcall.c".into()),
                SetupWord::Flag("-DX=1".into()),
            ]
        );
        let e = setup_line("_decimal _decimal/_decimal.c $(LIBMPDEC_CFLAGS)").unwrap_err();
        assert!(format!("{e}").contains("$(LIBMPDEC_CFLAGS)"), "{e}");
        assert!(setup_line("_x x.o").is_err());
    }
}
