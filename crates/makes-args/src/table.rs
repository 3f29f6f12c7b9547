//! Every argument any makes release (21.09 to 24.12) passes to a module, with the releases
//! that pass it and what gives its value here. Adding an argument is one row; a row whose
//! provider does not give the name fails the unit test below.

use makes_spec::Release;

/// What gives an argument its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Built with the store (`makeDerivation`, `makeScript`, `fetchUrl`, package sets, ...).
    Store,
    /// A pure helper written in Nix (`nix/args/helpers.nix`), evaluated by makes.
    Nix,
    /// Native code of this crate (`toDerivationName`, `fromYaml`, `projectIdentifier`, ...).
    Native,
    /// The project loader (`inputs`, `outputs`).
    Project,
    /// Not implemented: a value that fails when forced, naming the argument.
    NotYetValue,
}

/// One argument.
#[derive(Debug)]
pub struct Argument {
    pub name: &'static str,
    pub first: Release,
    pub last: Release,
    pub provider: Provider,
}

const fn arg(name: &'static str, first: (u8, u8), last: (u8, u8), provider: Provider) -> Argument {
    Argument {
        name,
        first: Release::new(first.0, first.1),
        last: Release::new(last.0, last.1),
        provider,
    }
}

use Provider::{Native, Nix, Project, Store};

const A: (u8, u8) = (21, 9);
const Z: (u8, u8) = (24, 12);

/// The arguments, by name (makes' `src/args/agnostic.nix` and `src/args/default.nix` of each
/// release, plus the module system's `lib`, `config` and `options`).
pub const ARGUMENTS: &[Argument] = &[
    arg("__nixpkgsSrc__", (21, 10), Z, Store),
    arg("__nixpkgs__", A, Z, Store),
    arg("__shellCommands__", A, Z, Nix),
    arg("__shellOptions__", A, Z, Nix),
    arg("__stateDirs__", (21, 10), Z, Nix),
    arg("__system__", A, Z, Nix),
    arg("__toModuleOutputs__", A, Z, Nix),
    arg("asContent", A, Z, Nix),
    arg("attrsGet", (21, 10), Z, Nix),
    arg("attrsMapToList", A, Z, Nix),
    arg("attrsMerge", A, Z, Nix),
    arg("attrsOptional", A, Z, Nix),
    arg("calculateCvss3", A, (24, 9), Nix),
    arg("calculateScorecard", (22, 4), (24, 2), Nix),
    arg("chunks", (22, 11), (24, 9), Nix),
    arg("computeOnAwsBatch", (21, 10), Z, Nix),
    arg("config", A, Z, Project),
    arg("deployContainer", (24, 2), Z, Nix),
    arg("deployContainerImage", A, (24, 1), Nix),
    arg("deployContainerManifest", (24, 2), Z, Nix),
    arg("deployNomad", (21, 11), (24, 2), Nix),
    arg("deployTerraform", A, Z, Nix),
    arg("escapeShellArg", A, (24, 9), Nix),
    arg("escapeShellArgs", A, (24, 9), Nix),
    arg("fakeSha256", A, Z, Nix),
    arg("fetchArchive", A, Z, Store),
    arg("fetchGithub", A, (24, 1), Store),
    arg("fetchGitlab", (21, 10), (24, 1), Nix),
    arg("fetchNixpkgs", A, Z, Store),
    arg("fetchRubyGem", (21, 10), Z, Nix),
    arg("fetchUrl", A, Z, Store),
    arg("filterAttrs", A, (24, 9), Nix),
    arg("flatten", A, (24, 9), Nix),
    arg("formatBash", A, Z, Nix),
    arg("formatNix", (22, 4), Z, Nix),
    arg("formatPython", (23, 6), (24, 2), Nix),
    arg("formatTerraform", A, Z, Nix),
    arg("formatYaml", (22, 9), Z, Nix),
    arg("fromJson", A, Z, Nix),
    arg("fromJsonFile", A, Z, Nix),
    arg("fromToml", A, (24, 9), Nix),
    arg("fromYaml", A, Z, Native),
    arg("fromYamlFile", A, Z, Nix),
    arg("getAttr", A, A, Nix),
    arg("gitlabCi", A, Z, Nix),
    arg("hasPrefix", A, Z, Nix),
    arg("hasSuffix", (21, 10), Z, Nix),
    arg("inputs", A, Z, Project),
    arg("isDarwin", (21, 10), Z, Nix),
    arg("isLinux", (21, 10), Z, Nix),
    arg("lib", A, Z, Store),
    arg("libGit", (21, 10), Z, Nix),
    arg("lintClojure", A, (24, 2), Nix),
    arg("lintGitCommitMsg", A, (24, 9), Nix),
    arg("lintGitMailMap", A, Z, Nix),
    arg("lintMarkdown", A, (24, 2), Nix),
    arg("lintNix", (23, 6), Z, Nix),
    arg("lintPython", A, (24, 2), Nix),
    arg("lintPythonImports", A, (24, 2), Nix),
    arg("lintTerraform", A, Z, Nix),
    arg("lintWithAjv", A, Z, Nix),
    arg("lintWithLizard", A, (24, 2), Nix),
    arg("listFilesRecursive", A, Z, Nix),
    arg("listOptional", A, (24, 1), Nix),
    arg("makeContainerImage", A, Z, Store),
    arg("makeDerivation", A, Z, Store),
    arg("makeDerivationParallel", A, (24, 9), Nix),
    arg("makeDynamoDb", (21, 12), Z, Nix),
    arg("makeEnvVars", A, Z, Nix),
    arg("makeEnvVarsForTerraform", A, Z, Nix),
    arg("makeNodeJsEnvironment", A, (24, 2), Nix),
    arg("makeNodeJsModules", A, (24, 2), Nix),
    arg("makeNodeJsVersion", A, (23, 7), Nix),
    arg("makeNomadEnvironment", (21, 11), (24, 9), Nix),
    arg("makePythonEnvironment", (24, 1), Z, Nix),
    arg("makePythonPoetryEnvironment", (24, 2), Z, Nix),
    arg("makePythonPypiEnvironment", A, (23, 6), Nix),
    arg("makePythonPyprojectPackage", (24, 1), Z, Nix),
    arg("makePythonVersion", A, (23, 6), Nix),
    arg("makePythonVscodeSettings", (24, 1), Z, Nix),
    arg("makeRubyGemsEnvironment", (21, 10), Z, Nix),
    arg("makeRubyGemsInstall", (21, 10), Z, Nix),
    arg("makeRubyVersion", (21, 10), (23, 7), Nix),
    arg("makeScript", A, Z, Store),
    arg("makeScriptParallel", A, (24, 9), Nix),
    arg("makeSearchPaths", A, Z, Store),
    arg("makeSecretForAwsFromEnv", A, Z, Nix),
    arg("makeSecretForAwsFromGitlab", (22, 9), Z, Nix),
    arg("makeSecretForEnvFromSops", A, Z, Nix),
    arg("makeSecretForGpgFromEnv", (21, 10), (24, 9), Nix),
    arg("makeSecretForKubernetesConfigFromAws", A, (24, 9), Nix),
    arg("makeSecretForNomadFromEnv", (21, 11), (24, 9), Nix),
    arg("makeSecretForTerraformFromEnv", A, Z, Nix),
    arg("makeSslCertificate", (22, 4), Z, Nix),
    arg("makeTemplate", A, Z, Store),
    arg("makeTerraformEnvironment", A, Z, Nix),
    arg("makeWorkspaceForTerraformFromEnv", (22, 11), (24, 2), Nix),
    arg("managePorts", (22, 4), Z, Nix),
    arg("options", A, Z, Project),
    arg("outputs", A, Z, Project),
    arg("patchShebangs", (21, 10), Z, Nix),
    arg("projectIdentifier", A, Z, Native),
    arg("projectPath", A, Z, Store),
    arg("projectPathLsDirs", A, Z, Nix),
    arg("projectPathMutable", A, A, Nix),
    arg("projectPathsMatching", A, Z, Nix),
    arg("projectSrc", A, Z, Native),
    arg("projectSrcInStore", A, Z, Nix),
    arg("pythonOverrideUtils", (24, 1), Z, Nix),
    arg("removePrefix", A, Z, Nix),
    arg("secureKubernetesWithRbacPolice", (22, 9), (24, 2), Nix),
    arg("secureNixWithVulnix", (21, 10), (22, 2), Nix),
    arg("securePythonWithBandit", A, (24, 2), Nix),
    arg("sortAscii", A, (24, 9), Nix),
    arg("sortAsciiCaseless", A, (24, 9), Nix),
    arg("stringCapitalize", A, Z, Nix),
    arg("sublist", (22, 11), Z, Nix),
    arg("taintTerraform", A, (24, 2), Nix),
    arg("testLicense", (23, 6), Z, Nix),
    arg("testPullRequest", (23, 4), (24, 1), Nix),
    arg("testPython", (21, 10), (24, 2), Nix),
    arg("testTerraform", A, Z, Nix),
    arg("toBashArray", A, Z, Nix),
    arg("toBashMap", A, Z, Nix),
    arg("toDerivationName", A, Z, Native),
    arg("toFileJson", A, Z, Store),
    arg("toFileJsonFromFileYaml", A, Z, Nix),
    arg("toFileLst", A, Z, Nix),
    arg("toFileToml", A, Z, Nix),
    arg("toFileYaml", A, Z, Nix),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sorted_and_unique() {
        for pair in ARGUMENTS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        assert!(ARGUMENTS.len() >= 130, "{}", ARGUMENTS.len());
        for a in ARGUMENTS {
            assert!(a.first <= a.last, "{}", a.name);
        }
    }
}
