"""Markdown as blog engines write it: one small hand-made post per dialect feature."""
from __future__ import annotations

from embedsearch.files import parse


def read(text: str) -> list[tuple[str, str, int, int, str, str]]:
    """(text, heading, first line, last line, kind, language) of each paragraph."""
    _, _, paragraphs = parse(text, "post.md")
    return [(p.text, p.heading, p.line_start, p.line_end, p.kind, p.language) for p in paragraphs]


def texts(text: str) -> list[str]:
    return [p[0] for p in read(text)]


# -- Jekyll / Liquid ------------------------------------------------------------------------------

def test_liquid_highlight_is_a_code_block_with_its_language() -> None:
    post = """## 학습

다음처럼 학습합니다.

{% highlight python linenos %}
# vectorizing
x = vectorizer.fit_transform(docs)
# training k-means
kmeans.fit(x)
{% endhighlight %}

끝.
"""
    assert read(post) == [
        ("다음처럼 학습합니다.", "## 학습", 3, 3, "prose", ""),
        ("# vectorizing\nx = vectorizer.fit_transform(docs)\n# training k-means\nkmeans.fit(x)",
         "## 학습", 6, 9, "code", "python"),
        ("끝.", "## 학습", 12, 12, "prose", ""),  # the comments made no heading
    ]


def test_liquid_highlight_closing_on_a_code_line_and_endhighlight_with_arguments() -> None:
    post = "{% highlight java %}\nKomoran komoran = new Komoran(modelPath);{% endhighlight java %}\n\n본문.\n"
    assert read(post)[0] == ("Komoran komoran = new Komoran(modelPath);", "", 2, 2, "code", "java")
    assert read(post)[1][0] == "본문."


def test_liquid_tags_and_outputs_are_not_text_but_links_keep_their_text() -> None:
    post = """---
title: 예시
---

{% include toc.html %}
자세한 내용은 [이전 글]({{ site.baseurl }}{% link _posts/2018-03-24-lasso.md %})과 [다른 글]({% post_url 2018-04-02-wpm %}),
그리고 [참고][lasso] 를 보세요. 사이트 주소는 {{ site.url }} 입니다.

{% include_relative figures/plot.html %}

{% comment %}
이 문단은 보이지 않습니다.
{% endcomment %}

![]({{ "/assets/figures/plot.png" | absolute_url }})

[lasso]: {{ site.baseurl }}{% link _posts/2018-03-24-lasso.md %}
[plain]: https://example.com
"""
    assert read(post) == [
        ("자세한 내용은 이전 글과 다른 글,\n그리고 참고 를 보세요. 사이트 주소는  입니다.", "", 6, 7, "prose", ""),
    ]


def test_liquid_raw_keeps_its_content_literally() -> None:
    post = "{% highlight python %}\n# an endhighlight example\n{% endhighlight %}\n\n" \
           "템플릿은 {% raw %}{{ page.title }}{% endraw %} 처럼 씁니다.\n"
    assert texts(post)[1] == "템플릿은 {{ page.title }} 처럼 씁니다."


def test_template_syntax_in_plain_markdown_stays_text() -> None:
    """No Liquid in the file: `{{ x }}` is what the author wants readers to see (Jinja, Airflow)."""
    assert texts("템플릿 변수는 {{ name }} 처럼 씁니다.\n") == ["템플릿 변수는 {{ name }} 처럼 씁니다."]


# -- Hexo ---------------------------------------------------------------------------------------

def test_hexo_codeblock() -> None:
    post = "코드:\n\n{% codeblock 정렬 예제 lang:python %}\nsorted(x)\n{% endcodeblock %}\n"
    assert read(post)[1] == ("sorted(x)", "", 4, 4, "code", "python")


# -- kramdown -----------------------------------------------------------------------------------

def test_kramdown_attribute_lists_are_not_text() -> None:
    post = """*인용한 문장입니다.*
{: .text-center }

![그림]({{ "/x.png" | absolute_url }}){: width="70%" height="70%"}

{:.notice}
포맷은 `'{:.3f}'.format(x)` 로 씁니다.{: #fmt}

{::options parse_block_html="true" /}
"""
    assert read(post) == [
        ("인용한 문장입니다.", "", 1, 1, "prose", ""),
        ("포맷은 '{:.3f}'.format(x) 로 씁니다.", "", 7, 7, "prose", ""),  # inside code it is code
    ]


# -- Hugo ---------------------------------------------------------------------------------------

def test_hugo_shortcodes() -> None:
    post = """---
title: Hugo 글
draft: "true"
---

{{< highlight python "linenos=table" >}}
# Bad example
today = datetime.today()
{{< /highlight >}}

{{< figure src="images/adaboost.png" caption="Fig 1. Random Forest 와 AdaBoost" >}}

{{< youtube LsK-xG1cLYA >}}

{{% notice info %}}
공지 내용입니다. [이전 글]({{< ref "posts/first.md" >}}) 참고.
{{% /notice %}}

Airflow 는 {{ ds }} 같은 변수를 씁니다.
"""
    title, front_matter, _ = parse(post, "post.md")
    assert title == "Hugo 글" and front_matter["draft"] is True
    assert read(post) == [
        ("# Bad example\ntoday = datetime.today()", "", 7, 8, "code", "python"),
        ("Fig 1. Random Forest 와 AdaBoost", "", 11, 11, "prose", ""),
        ("공지 내용입니다. 이전 글 참고.", "", 16, 16, "prose", ""),
        ("Airflow 는 {{ ds }} 같은 변수를 씁니다.", "", 19, 19, "prose", ""),  # Hugo leaves it in the page
    ]


def test_hugo_escaped_shortcode_shows_itself() -> None:
    post = "{{< figure src=\"a.png\" >}}\n\n쓰는 법: `{{</* figure src=\"a.png\" */>}}`\n"
    assert texts(post) == ['쓰는 법: {{< figure src="a.png" >}}']


# -- HTML ---------------------------------------------------------------------------------------

def test_inline_html_becomes_its_text() -> None:
    post = '<b>굵은</b> 글씨와 <img src="cat.png" alt="고양이 사진"> 그리고<br>줄바꿈, <span style="color:red">빨강</span>' \
           '<script>track()</script>.\n'
    assert texts(post) == ["굵은 글씨와 고양이 사진 그리고 줄바꿈, 빨강."]


def test_html_blocks_become_their_text() -> None:
    post = """<div class="notice">
  <p>공지 <i>사항</i>입니다.</p>
</div>

<table>
  <tr><th>모델</th><th>정확도</th></tr>
  <tr><td>CRF</td><td>0.93</td></tr>
</table>

<figure>
  <img src="x.png" alt="k-means 결과">
  <figcaption>그림 1: 군집 결과</figcaption>
</figure>

<script src="https://d3js.org/d3.v4.min.js"></script>
<script>
var svg = d3.select("div#chart");
</script>

<style>.x { color: red; }</style>

<iframe src="https://www.youtube.com/embed/x"></iframe>

<div id="chart"></div>

<center>Below figure is "Mean vector"</center>
![]({{ "/assets/figures/mean.png" | absolute_url }})
"""
    assert read(post) == [
        ("공지 사항입니다.", "", 1, 3, "prose", ""),
        ("모델 | 정확도\nCRF | 0.93", "", 5, 8, "prose", ""),
        ("k-means 결과\n그림 1: 군집 결과", "", 10, 13, "prose", ""),
        ('Below figure is "Mean vector"', "", 26, 26, "prose", ""),  # the image after it is not a passage
    ]


# -- math, references, images, headings --------------------------------------------------------

def test_math_stays_intact_in_its_passage() -> None:
    post = r"""점 $$c_t$$ 는 $$d(c_{t-1}, c_t)$$ 가 큰 점이고, $a_i * b_i$ 와 $a_j * b_j$ 는 곱입니다.

$$
\sum_{i=1}^{k} \| x - \mu_i \|^2
$$
"""
    assert read(post) == [
        (r"점 $$c_t$$ 는 $$d(c_{t-1}, c_t)$$ 가 큰 점이고, $a_i * b_i$ 와 $a_j * b_j$ 는 곱입니다.", "", 1, 1, "prose", ""),
        ("$$\n\\sum_{i=1}^{k} \\| x - \\mu_i \\|^2\n$$", "", 3, 5, "prose", ""),
    ]


def test_reference_definitions_and_image_only_paragraphs_are_not_passages() -> None:
    post = """본문에서 [링크][ref] 를 씁니다.

![](images/a.png)
![alt text](images/b.png)

[![](badge.svg)](https://ci.example.com)

[ref]: https://example.com "제목"
[other]: <https://example.org>
"""
    assert texts(post) == ["본문에서 링크 를 씁니다."]


def test_headings_come_only_from_markdown_headings() -> None:
    post = """제목 없는 서문.

Setext 제목
===========

```bash
# 주석은 제목이 아닙니다
ls -al
```

## **굵은** [링크](x) 제목

    # 들여쓴 코드
"""
    assert [(p[0].split("\n")[0], p[1]) for p in read(post)] == [
        ("제목 없는 서문.", ""),
        ("# 주석은 제목이 아닙니다", "# Setext 제목"),
        ("# 들여쓴 코드", "# Setext 제목 > ## 굵은 링크 제목"),
    ]
    assert parse(post, "post.md")[0] == "Setext 제목"


def test_lists_quotes_and_tables_read_as_text_on_their_own_lines() -> None:
    post = """- **첫째** 항목
- 둘째 항목
  1. 안쪽 항목

> 인용 *문장*
> 둘째 줄

| 모델 | 정확도 |
|---|---|
| `CRF` | 0.93 |
"""
    assert read(post) == [
        ("- 첫째 항목\n- 둘째 항목\n  1. 안쪽 항목", "", 1, 3, "prose", ""),
        ("인용 문장\n둘째 줄", "", 5, 6, "prose", ""),
        ("모델 | 정확도\n\nCRF | 0.93", "", 8, 10, "prose", ""),
    ]


def test_line_numbers_are_exact_after_front_matter_and_markup_lines() -> None:
    post = "---\ntitle: t\n---\n\n![](top.png)\n첫 문단\n이어지는 줄\n{: .lead}\n\n```\n\nx = 1\n\n```\n"
    assert read(post) == [
        ("첫 문단\n이어지는 줄", "", 6, 7, "prose", ""),  # the image line above is not part of the text
        ("x = 1", "", 12, 12, "code", ""),
    ]
