package publisheraddr

import (
	"slices"
	"testing"
)

func TestParseNamesShardsAndTheirPublishers(t *testing.T) {
	got, err := Parse(" a:1 , b:1 ;c:1")
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"a:1", "b:1"}, {"c:1"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("Parse = %q, want %q", got, want)
	}
}

func TestParseRefusesAnEmptyShard(t *testing.T) {
	for _, v := range []string{"a:1;;c:1", "a:1; , ;c:1", "", "a:1;"} {
		if _, err := Parse(v); err == nil {
			t.Errorf("Parse(%q) accepted an empty shard", v)
		}
	}
	_, err := Parse("a:1;;c:1")
	if want := "-publisher-addr: shard 1 (counting from 0) names no address; give shards as addr[,standby...][;addr[,standby...]...]"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
