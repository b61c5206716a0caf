"""Within-post word weights, measured: does the share of the question's post-specific words pick the passage?

    python benchmarks/quality/sentence_lab.py record     # first
    python benchmarks/quality/within_post_lab.py

The global BM25 weights treat a post's topic words as rare, so every passage of the answering
post matches them; weighting the question's words by how few of the post's passages hold them
(IDF within the post) should favour the passage with the specific words. Adds lambda x that
share (or its difference from the post's other candidates: "centred") to today's fused score on
the tuning split's recorded candidates. Result: it hurts (benchmarks/quality/README.md).
"""
import collections
import math
import pickle
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import real_eval  # noqa: E402
from sentence_lab import OUT, evaluate  # noqa: E402

from embedsearch.tokens import tokens  # noqa: E402

runs=pickle.loads(OUT.read_bytes())
qs={q.id:q for q in real_eval.load_questions()}
docs={}   # (corpus, chunk id) -> doc key
df={}     # doc key -> Counter
nchunks={}
toks={}
for corpus in ('lovit','meme2515','taewan-html'):
    conn=sqlite3.connect(real_eval.INDEXES / f'ix-{corpus}' / 'embedsearch.db')
    for cid, doc, text, heading in conn.execute('select id, document_id, text, heading from chunks'):
        key=(corpus,doc); t=set(tokens(text))
        toks[(corpus[:5],cid)]=t
        df.setdefault(key,collections.Counter()).update(t)
        nchunks[key]=nchunks.get(key,0)+1
        docs[(corpus[:5],cid)]=key
for r in runs:
    q=set(tokens(qs[r['id']].q))
    for c in r['cands']:
        k=(r['id'][:5],c['id']); key=docs[k]; n=nchunks[key]; d=df[key]
        present=[t for t in q if d[t]>0]
        if n<2 or not present:
            c['local']=0.0; continue
        w={t: math.log((n+1)/(d[t]+0.5)) for t in present}
        tot=sum(w.values()) or 1
        c['local']=sum(w[t] for t in present if t in toks[k])/tot
    # centre per doc within candidates
    by=collections.defaultdict(list)
    for c in r['cands']: by[docs[(r['id'][:5],c['id'])]].append(c)
    for cs in by.values():
        m=sum(c['local'] for c in cs)/len(cs)
        for c in cs: c['localc']=c['local']-m
print('base', evaluate(runs, lambda c: c['fused']))
for lam in (0.01,0.02,0.03,0.05,0.08):
    print(lam, 'local', evaluate(runs, lambda c: c['fused']+lam*c['local']), 'centred', evaluate(runs, lambda c: c['fused']+lam*c['localc']))
for corpus in ('lovit','meme','taewan'):
    rr=[r for r in runs if r['id'].startswith(corpus)]
    print(corpus, evaluate(rr, lambda c: c['fused']), evaluate(rr, lambda c: c['fused']+0.03*c['local']))
