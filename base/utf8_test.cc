#include "base/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace dumpcrypt {
namespace {

TEST(Utf8Test, Validation) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
}

TEST(Utf8Test, ToValidTextReplacesWhatIsNotText) {
  bool changed = true;
  EXPECT_EQ(ToValidText("vmx \xe2\x82\xac", 4096, &changed),
            "vmx \xe2\x82\xac");
  EXPECT_FALSE(changed);
  const std::string r = "\xef\xbf\xbd";  // U+FFFD
  EXPECT_EQ(ToValidText("a\xff"
                        "b",
                        4096, &changed),
            "a" + r + "b");
  EXPECT_TRUE(changed);
  EXPECT_EQ(ToValidText("a\nb\x7f", 4096, &changed), "a" + r + "b" + r);
  EXPECT_EQ(ToValidText("\xe2\x82", 4096, &changed), r + r);  // truncated
  EXPECT_EQ(ToValidText("\xed\xa0\x80", 4096, &changed),
            r + r + r);  // surrogate
  // Cut to the limit, never inside a character.
  const std::string ascii(2000, 'x');
  std::string long_text = ascii;
  for (int i = 0; i < 1000; ++i) long_text += "\xe2\x82\xac";
  const std::string cut = ToValidText(long_text, 4096, &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(cut.size(), 2000u + 3 * 698);
  EXPECT_TRUE(IsValidUtf8(cut));
  EXPECT_EQ(ToValidText(std::string(5000, 'x'), 4096, &changed).size(), 4096u);
  EXPECT_EQ(ToValidText("ab\xe2\x82\xac", 4, &changed), "ab");
  EXPECT_EQ(ToValidText("ab\xff", 4, &changed), "ab");  // U+FFFD is 3 bytes
}

}  // namespace
}  // namespace dumpcrypt
