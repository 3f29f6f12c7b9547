# makes' deployContainer, deployContainerImage and deployContainerManifest arguments, as
# makes defines them in its src/args (deploy-container, deploy-container-image,
# deploy-container-manifest), with the forms of each release:
#   deployContainerImage: 22.04 to 22.11 (credentials, attempts, setup), 23.04 to 24.01
#     (also sign); the forms before 22.04 (no credentials) are not ported;
#   deployContainer: 24.02 (deployContainerImage's arguments), 24.09 on (image, src);
#   deployContainerManifest: 24.02 (config), 24.09 on (image, manifests, tags).
# Each is a makeScript that runs skopeo (and cosign, manifest-tool) of makes' package set.
{ self, release, templates }:
let
  before = version: builtins.compareVersions release version < 0;
  nixpkgs = self.__nixpkgs__;
  notPorted = name:
    throw "the makes argument '${name}' of release ${release} is not supported yet (its form before 22.04)";
in {
  deployContainerImage = if before "22.04" then
    _: notPorted "deployContainerImage"
  else if before "23.04" then
    { attempts ? 1, containerImage, credentials, name, registry, setup, tag }:
    self.makeScript {
      replace = {
        __argUser__ = credentials.user;
        __argToken__ = credentials.token;
        __argContainerImage__ = containerImage;
        __argTag__ = "${registry}/${tag}";
        __argAttempts__ = attempts;
      };
      entrypoint = templates.deployContainerImage2204;
      inherit name;
      searchPaths = {
        bin = [ nixpkgs.skopeo ];
        source = setup;
      };
    }
  else
    { attempts ? 1, containerImage, credentials, name, registry, setup, sign, tag }:
    self.makeScript {
      replace = {
        __argAttempts__ = attempts;
        __argContainerImage__ = containerImage;
        __argCredentialsToken__ = credentials.token;
        __argCredentialsUser__ = credentials.user;
        __argRegistry__ = registry;
        __argSign__ = sign;
        __argTag__ = "${registry}/${tag}";
      };
      entrypoint = templates.deployContainerImage2304;
      inherit name;
      searchPaths = {
        bin = [ nixpkgs.cosign nixpkgs.skopeo ];
        source = setup;
      };
    };

  deployContainer = if before "24.09" then
    { attempts ? 1, containerImage, credentials, name, registry, setup, sign, tag }:
    self.makeScript {
      replace = {
        __argAttempts__ = attempts;
        __argContainerImage__ = containerImage;
        __argCredentialsToken__ = credentials.token;
        __argCredentialsUser__ = credentials.user;
        __argRegistry__ = registry;
        __argSign__ = sign;
        __argTag__ = "${registry}/${tag}";
      };
      entrypoint = templates.deployContainer2402;
      inherit name;
      searchPaths = {
        bin = [ nixpkgs.cosign nixpkgs.skopeo ];
        source = setup;
      };
    }
  else
    { credentials, image, name, setup, sign, src }:
    self.makeScript {
      replace = {
        __argCredentialsToken__ = credentials.token;
        __argCredentialsUser__ = credentials.user;
        __argImage__ = image;
        __argSign__ = sign;
        __argSrc__ = src;
      };
      entrypoint = templates.deployContainer;
      inherit name;
      searchPaths = {
        bin = [ nixpkgs.cosign nixpkgs.skopeo ];
        source = setup;
      };
    };

  deployContainerManifest = let
    script = { config, credentials, name, setup, sign }:
      self.makeScript {
        replace = {
          __argConfig__ = self.toFileYaml "manifest.yaml " config;
          __argCredentialsToken__ = credentials.token;
          __argCredentialsUser__ = credentials.user;
          __argSign__ = sign;
        };
        entrypoint = templates.deployContainerManifest;
        inherit name;
        searchPaths = {
          bin = [ nixpkgs.cosign nixpkgs.manifest-tool nixpkgs.yq ];
          source = setup;
        };
      };
  in if before "24.09" then
    script
  else
    { credentials, image, manifests, name, setup, sign, tags }:
    script {
      config = { inherit image manifests tags; };
      inherit credentials name setup sign;
    };
}
