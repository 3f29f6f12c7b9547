# makes' Ruby environments, as makes defines them in its src/args (make-ruby-version,
# fetch-rubygem, make-ruby-gems-install, make-ruby-gems-environment), release differences
# included: before 22.11 gems are listed in `rubyGems` and fetched from rubygems.org by name
# and version; from 22.11 on they come from a `sourcesYaml` lock (`closure` and `links`).
# Evaluated by makes with:
#   self: the makes arguments; release: the makes release whose rules apply;
#   templates: the text of makes' shell templates (nix/args/templates/).
{ self, release, templates }:
let
  pkgs = self.__nixpkgs__;
  since = version: builtins.compareVersions release version >= 0;
  # The interpreters each release offers (makes' make-ruby-version).
  rubyVersions =
    if !since "22.03" then {
      "2.6" = pkgs.ruby_2_6;
      "2.7" = pkgs.ruby_2_7;
      "3.0" = pkgs.ruby_3_0;
    } else if !since "22.11" then {
      "2.7" = pkgs.ruby_2_7;
      "3.0" = pkgs.ruby_3_0;
    } else if !since "23.07" then {
      "2.7" = pkgs.ruby_2_7;
      "3.0" = pkgs.ruby_3_0;
      "3.1" = pkgs.ruby_3_1;
    } else {
      "3.1" = pkgs.ruby_3_1;
      "3.2" = pkgs.ruby_3_2;
      "3.3" = pkgs.ruby_3_3;
    };
  makeRubyVersion = version: rubyVersions.${version};
  quote = s: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] s}'";
  # nixpkgs' linkFarm, built by makes: `name` links to `path` for each entry.
  linkFarm = name: entries:
    self.makeDerivation {
      inherit name;
      builder = ''
        mkdir -p "$out"
        cd "$out"
      '' + builtins.concatStringsSep "" (builtins.map (entry: ''
        mkdir -p "$(dirname ${quote entry.name})"
        ln -s ${quote "${entry.path}"} ${quote entry.name}
      '') entries);
    };
  fetchRubyGem = if since "22.11" then
    { sha256 ? self.fakeSha256, url, ... }: self.fetchUrl { inherit sha256 url; }
  else
    { name, sha256 ? self.fakeSha256, version }:
    self.fetchUrl {
      url = "https://rubygems.org/downloads/${name}-${version}.gem";
      inherit sha256;
    };
  # Fetches the gems and installs `spec` (NAME:VERSION of each gem to install).
  install = { name, ruby, searchPaths, links, spec }:
    self.makeDerivation {
      builder = templates.makeRubyGemsInstall;
      name = "make-ruby-gems-install-for-${name}";
      env = {
        envGems = linkFarm "ruby-gems-for-${name}" (builtins.map (rubyGem:
          let gem = fetchRubyGem rubyGem;
          in {
            inherit (gem) name;
            path = gem;
          }) links);
        envGemsSpec = self.toBashArray spec;
      };
      searchPaths = {
        bin = [ (makeRubyVersion ruby) ];
        source = [ self.patchShebangs (self.makeSearchPaths searchPaths) ];
      };
    };
  makeRubyGemsInstall = if since "22.11" then
    { name, ruby, searchPaths ? { }, sourcesYaml }:
    let sources = self.fromYamlFile sourcesYaml;
    in install {
      inherit name ruby searchPaths;
      inherit (sources) links;
      spec = builtins.map (name: "${name}:${sources.closure.${name}}")
        (builtins.attrNames sources.closure);
    }
  else
    { name, ruby, rubyGems, searchPaths ? { } }:
    install {
      inherit name ruby searchPaths;
      links = rubyGems;
      spec = builtins.map (gem: "${gem.name}:${gem.version}") rubyGems;
    };
  environment = { ruby, searchPathsRuntime, installation }:
    self.makeSearchPaths {
      bin = [ (makeRubyVersion ruby) ];
      rubyBin = [ installation ];
      rubyGemPath = [ installation ];
      source = [ (self.makeSearchPaths searchPathsRuntime) ];
    };
in {
  inherit fetchRubyGem makeRubyGemsInstall makeRubyVersion;
  makeRubyGemsEnvironment = if since "22.11" then
    { name, ruby, searchPathsBuild ? { }, searchPathsRuntime ? { }, sourcesYaml }:
    environment {
      inherit ruby searchPathsRuntime;
      installation = makeRubyGemsInstall {
        inherit name ruby sourcesYaml;
        searchPaths = searchPathsBuild;
      };
    }
  else
    { name, ruby, rubyGems, searchPathsBuild ? { }, searchPathsRuntime ? { } }:
    environment {
      inherit ruby searchPathsRuntime;
      installation = makeRubyGemsInstall {
        inherit name ruby rubyGems;
        searchPaths = searchPathsBuild;
      };
    };
}
