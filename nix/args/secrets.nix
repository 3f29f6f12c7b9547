# makes' secrets family, as makes defines it in its src/args (make-secret-for-*,
# make-env-vars-for-terraform): templates sourced at run time that load secrets into the
# environment; no secret is ever written to the store. Evaluated by makes with:
#   self: the makes arguments; release: the makes release whose rules apply;
#   templates: the text of makes' shell templates (nix/args/templates/).
{ self, release, templates }:
let
  # Until 22.11 makes' templates expanded an unset variable with `${VAR:-}`, from 23.04 on
  # with `${VAR-}` (the same value; another template text).
  ofRelease = template: variable:
    if builtins.compareVersions release "23.04" < 0 then
      builtins.replaceStrings [ "\${${variable}-}" ] [ "\${${variable}:-}" ] template
    else
      template;
in {
  makeSecretForEnvFromSops = { vars, name, manifest }:
    self.makeTemplate {
      replace = {
        __argManifest__ = manifest;
        __argName__ = self.toDerivationName name;
        __argVars__ = self.toBashArray vars;
      };
      name = "make-secret-for-env-from-sops-for-${name}";
      searchPaths = { bin = [ self.__nixpkgs__.jq self.__nixpkgs__.sops ]; };
      template = templates.makeSecretForEnvFromSops;
    };
  makeSecretForAwsFromEnv =
    { accessKeyId, defaultRegion, name, secretAccessKey, sessionToken }:
    self.makeTemplate {
      replace = {
        __argName__ = self.toDerivationName name;
        __argAccessKeyId__ = accessKeyId;
        __argDefaultRegion__ = defaultRegion;
        __argSecretAcessKey__ = secretAccessKey;
        __argSessionToken__ = sessionToken;
      };
      name = "make-secret-for-aws-from-env-for-${name}";
      template = ofRelease templates.makeSecretForAwsFromEnv "!session_token_name";
    };
  makeSecretForAwsFromGitlab = { duration, name, retries, roleArn }:
    self.makeTemplate {
      replace = {
        __argDuration__ = duration;
        __argName__ = self.toDerivationName name;
        __argRetries__ = retries;
        __argRoleArn__ = roleArn;
      };
      name = "make-secret-for-aws-from-gitlab-for-${name}";
      searchPaths.bin = [ self.__nixpkgs__.awscli self.__nixpkgs__.jq ];
      template = ofRelease templates.makeSecretForAwsFromGitlab "CI_JOB_JWT_V2";
    };
  makeSecretForGpgFromEnv = { asciiArmorBlocks, name }:
    self.makeTemplate {
      replace = {
        __argAsciiArmorBlocks__ = self.toBashArray asciiArmorBlocks;
        __argName__ = self.toDerivationName name;
      };
      name = "make-secret-for-gpg-from-env-for-${name}";
      searchPaths.bin = [ self.__nixpkgs__.gnupg1orig ];
      template = templates.makeSecretForGpgFromEnv;
    };
  makeSecretForKubernetesConfigFromAws = { cluster, name, region }:
    self.makeTemplate {
      name = "make-secret-for-kubernetes-config-from-aws-for-${name}";
      replace = {
        __argCluster__ = cluster;
        __argName__ = name;
        __argRegion__ = region;
      };
      searchPaths.bin = [ self.__nixpkgs__.awscli ];
      template = ofRelease templates.makeSecretForKubernetesConfigFromAws "KUBECONFIG";
    };
  makeSecretForNomadFromEnv = { mapping, name }:
    self.makeTemplate {
      replace = {
        __argName__ = self.toDerivationName name;
        __argMap__ = self.toBashMap mapping;
      };
      name = "make-secret-for-nomad-from-env-for-${name}";
      template = templates.makeSecretForNomadFromEnv;
    };
  makeSecretForTerraformFromEnv = { mapping, name }:
    self.makeTemplate {
      replace = {
        __argName__ = self.toDerivationName name;
        __argMap__ = self.toBashMap mapping;
      };
      name = "make-secret-for-terraform-from-env-for-${name}";
      template = templates.makeSecretForTerraformFromEnv;
    };
  makeEnvVarsForTerraform = { mapping, name }:
    self.makeTemplate {
      replace = {
        __argName__ = self.toDerivationName name;
        __argMap__ = self.toBashMap mapping;
      };
      name = "make-env-vars-for-terraform-for-${name}";
      template = templates.makeEnvVarsForTerraform;
    };
}
