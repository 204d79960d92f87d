#include "tools/host_config.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"
#include "tools/crashed_process.h"
#include "tools/dump_folder.h"

namespace dumpcrypt::cli {
namespace {

using ::dumpcrypt::testing::TempDir;
using ::testing::HasSubstr;

constexpr char kPolicy[] = R"(folder = "dumps"
keystore = "ks"
max_use = "1G"
keep_free = 4096
[host_key]
provider = "kms-a"
key_id = "host"
[[rule]]
name = "vms"
cgroup = "/machine.slice/machine-qemu*"
key_id = "vm-key"
type = "vm"
[[rule]]
name = "db"
unit = "postgresql*.service"
executable = "/usr/lib/postgresql/*"
provider = "kms-b"
key_id = "db-key"
)";

class HostConfigTest : public ::testing::Test {
 protected:
  absl::StatusOr<HostConfig> Load(const std::string& text) {
    std::ofstream(path_) << text;
    return LoadHostConfig(path_);
  }
  TempDir dir_;
  const std::string path_ = dir_.File("host.toml");
};

TEST_F(HostConfigTest, FirstMatchingRuleWinsElseTheHostKey) {
  ASSERT_OK_AND_ASSIGN(HostConfig c, Load(kPolicy));
  EXPECT_EQ(c.folder, dir_.File("dumps"));
  EXPECT_EQ(c.keystore, dir_.File("ks"));
  EXPECT_EQ(c.max_use, uint64_t{1} << 30);
  EXPECT_EQ(c.keep_free, 4096u);
  CrashedProcess vm;
  vm.cgroup =
      "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/emulator";
  EXPECT_EQ(c.Choose(vm).name, "vms");
  EXPECT_EQ(c.Choose(vm).key, (KeyRef{"kms-a", "vm-key"}));
  EXPECT_EQ(c.Choose(vm).type, DumpType::kVm);
  CrashedProcess db;
  db.unit = "postgresql@15-main.service";
  db.executable = "/usr/lib/postgresql/15/bin/postgres";
  EXPECT_EQ(c.Choose(db).key, (KeyRef{"kms-b", "db-key"}));
  db.executable = "/usr/bin/psql";  // every pattern of a rule must match
  EXPECT_EQ(c.Choose(db).name, "host-key");
  EXPECT_EQ(c.Choose(db).key, (KeyRef{"kms-a", "host"}));
  EXPECT_EQ(c.Keys().size(), 3u);
}

TEST_F(HostConfigTest, HostKeyModePutsEveryDumpUnderTheHostKey) {
  ASSERT_OK_AND_ASSIGN(HostConfig c,
                       Load(std::string("mode = \"host-key\"\n") + kPolicy));
  CrashedProcess vm;
  vm.cgroup = "/machine.slice/machine-qemu-1.scope";
  EXPECT_EQ(c.Choose(vm).key.key_id, "host");
  EXPECT_EQ(c.Keys().size(), 1u);
}

TEST_F(HostConfigTest, ErrorsNameTheFileLineAndKey) {
  auto c = Load(std::string("colour = \"blue\"\n") + kPolicy);
  EXPECT_THAT(c.status().message(),
              HasSubstr("host.toml:1: colour: unknown key"));
  c = Load(std::string("max_size = \"lots\"\n") + kPolicy);
  EXPECT_THAT(c.status().message(), HasSubstr("max_size: must be a size"));
  c = Load("folder = \"d\"\nkeystore = \"ks\"\n");
  EXPECT_THAT(c.status().message(), HasSubstr("no [host_key]"));
  c = Load(std::string(kPolicy) + "[[rule]]\nname = \"x\"\n");
  EXPECT_THAT(c.status().message(), HasSubstr("rule 'x': needs key_id"));
  c = Load(std::string("on_no_key = \"recipient\"\n") + kPolicy);
  EXPECT_THAT(c.status().message(), HasSubstr("needs recipients"));
  c = Load(std::string("mode = \"sometimes\"\n") + kPolicy);
  EXPECT_THAT(c.status().message(), HasSubstr("must be one of"));
}

TEST(HostConfigExampleTest, TheDocumentedExampleLoads) {
  auto c = LoadHostConfig(std::string(DUMPCRYPT_SOURCE_DIR) +
                          "/docs/host.toml.example");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->rules.size(), 2u);
  EXPECT_EQ(c->rate_limit, 10u);
}

TEST(ByteSizeTest, UnitsArePowersOf1024) {
  EXPECT_EQ(*ParseByteSize("512"), 512u);
  EXPECT_EQ(*ParseByteSize("4k"), 4096u);
  EXPECT_EQ(*ParseByteSize("10G"), uint64_t{10} << 30);
  EXPECT_FALSE(ParseByteSize("").ok());
  EXPECT_FALSE(ParseByteSize("G").ok());
  EXPECT_FALSE(ParseByteSize("99999999999T").ok());
}

TEST(CrashedProcessTest, CgroupAndUnitAsSystemdNamesThem) {
  EXPECT_EQ(CgroupOf("0::/system.slice/foo.service\n"),
            "/system.slice/foo.service");
  // A hybrid hierarchy whose unified path is the root.
  EXPECT_EQ(CgroupOf("9:name=systemd:/user.slice/user-0.slice/session-3.scope\n"
                     "4:memory:/x\n0::/\n"),
            "/user.slice/user-0.slice/session-3.scope");
  EXPECT_EQ(UnitOf("/user.slice/user-0.slice/session-3.scope"),
            "session-3.scope");
  EXPECT_EQ(UnitOf("/machine.slice/libpod-abc.scope/container"),
            "libpod-abc.scope");
  EXPECT_EQ(UnitOf("/"), "");
}

TEST(DumpFolderTest, VacuumRemovesTheOldestUntilUnderMaxUse) {
  TempDir dir;
  HostConfig c;
  c.folder = dir.path();
  for (int i = 0; i < 4; ++i) {
    const std::string path =
        dir.File("core.x.0." + std::to_string(i) + ".1.dce");
    std::ofstream(path) << std::string(64 << 10, 'x');
    const timespec times[2] = {{1000 + i, 0}, {1000 + i, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  }
  std::ofstream(dir.File("notes.txt")) << std::string(1 << 20, 'n');
  c.max_use = 150 << 10;  // room for two
  std::vector<std::string> removed = Vacuum(c);
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(removed[0], dir.File("core.x.0.0.1.dce"));
  EXPECT_EQ(removed[1], dir.File("core.x.0.1.1.dce"));
  ASSERT_OK_AND_ASSIGN(auto left, ListSealedDumps(dir.path()));
  EXPECT_EQ(left.size(), 2u);
  EXPECT_TRUE(Vacuum(c).empty());
  CrashedProcess p;
  p.comm = "my prog/../x";
  p.ids = {42, 1000, 1000, 11};
  p.time_unix = 7;
  EXPECT_EQ(DumpFileName(p), "core.my_prog____x.1000.42.7.dce");
}

}  // namespace
}  // namespace dumpcrypt::cli
