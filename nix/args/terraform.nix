# makes' Terraform environments, as makes defines them in its src/args
# (make-terraform-environment, make-workspace-for-terraform-from-env). Evaluated by makes with:
#   self: the makes arguments; release: the makes release whose rules apply;
#   templates: the text of makes' shell templates (nix/args/templates/).
{ self, release, templates }:
let
  pkgs = self.__nixpkgs__;
  since = version: builtins.compareVersions release version >= 0;
  # The versions each release offers: "0.16" until 21.10, then "1.0" (terraform_1_0 until
  # 22.02, terraform_1 from 22.03 on).
  terraformOf = version:
    let
      versions = {
        "0.14" = pkgs.terraform_0_14;
        "0.15" = pkgs.terraform_0_15;
      } // (if !since "21.11" then {
        "0.16" = pkgs.terraform_0_16;
      } else if !since "22.03" then {
        "1.0" = pkgs.terraform_1_0;
      } else {
        "1.0" = pkgs.terraform_1;
      });
    in versions.${version};
in {
  makeTerraformEnvironment = { version }:
    self.makeSearchPaths { bin = [ (terraformOf version) ]; };
  makeWorkspaceForTerraformFromEnv =
    { name, setup, src, variable ? "", version, ... }:
    self.makeTemplate {
      name = "test-terraform-for-${name}";
      replace = {
        __argSrc__ = src;
        __argVariable__ = variable;
      };
      searchPaths = {
        bin = [ pkgs.gnugrep ];
        source = [ (self.makeTerraformEnvironment { inherit version; }) ] ++ setup;
      };
      template = templates.makeWorkspaceForTerraformFromEnv;
    };
}
