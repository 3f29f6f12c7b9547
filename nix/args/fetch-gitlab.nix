# makes' fetchGitlab, as makes defines it in its src/args/fetch-gitlab (21.10 to 24.01): the
# archive of a GitLab revision, through makes' fetchArchive.
{ self, release, templates }:
{
  fetchGitlab = { rev, owner, repo, sha256 ? self.fakeSha256 }:
    self.fetchArchive {
      inherit sha256;
      url = "https://gitlab.com/${owner}/${repo}/-/archive/${rev}.tar.gz";
    };
}
