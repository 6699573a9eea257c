// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_vfs.c - the store's files as the module reaches them: opened,
 * created, renamed and removed relative to the store's directory (never
 * through the caller's root or working directory), with the credentials
 * of the administrator who attached the store, so files belong to the
 * same owner whichever process appends. Whole reads and writes, range
 * zeroing, atomic replacement and copies from the page cache to users.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/dcache.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/stat.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kmq.h"
#include "kmq_compat.h"

struct file *kmq_vfs_open(struct kmq_kstore *s, const char *rel, int flags,
			  umode_t mode)
{
	const struct cred *old = override_creds(s->cred);
	struct file *f;

	f = file_open_root(&s->root, rel, flags | O_LARGEFILE, mode);
	revert_creds(old);
	return f;
}

/* The directory holding @rel, and @rel's last component (creds on). */
static int kmq_parent(struct kmq_kstore *s, const char *rel,
		      struct path *parent, const char **last)
{
	const char *slash = strrchr(rel, '/');
	struct file *f;
	char *dir;

	if (!slash) {
		*parent = s->root;
		path_get(parent);
		*last = rel;
		return 0;
	}
	dir = kstrndup(rel, slash - rel, GFP_KERNEL);
	if (!dir)
		return -ENOMEM;
	f = file_open_root(&s->root, dir, O_PATH | O_DIRECTORY, 0);
	kfree(dir);
	if (IS_ERR(f))
		return PTR_ERR(f);
	*parent = f->f_path;
	path_get(parent);
	fput(f);
	*last = slash + 1;
	return 0;
}

static int kmq_mkdir_at(const struct path *parent, const char *name)
{
	struct inode *dir = d_inode(parent->dentry);
	struct dentry *d;
	int ret;

	ret = mnt_want_write(parent->mnt);
	if (ret)
		return ret;
	inode_lock_nested(dir, I_MUTEX_PARENT);
	d = lookup_one_len(name, parent->dentry, strlen(name));
	if (IS_ERR(d)) {
		ret = PTR_ERR(d);
	} else {
		if (d_is_positive(d))
			ret = d_is_dir(d) ? 0 : -ENOTDIR;
		else
			ret = kmq_vfs_mkdir_at(parent->mnt, dir, d,
					       KMQ_DIR_MODE);
		dput(d);
	}
	inode_unlock(dir);
	mnt_drop_write(parent->mnt);
	return ret;
}

/**
 * kmq_vfs_mkdirs() - create @rel and the directories leading to it.
 * @s: store
 * @rel: path relative to the store's directory
 *
 * Return: 0 (also when they exist), or -errno.
 */
int kmq_vfs_mkdirs(struct kmq_kstore *s, const char *rel)
{
	const struct cred *old;
	char *buf, *p;
	int ret = 0;

	buf = kstrdup(rel, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	old = override_creds(s->cred);
	for (p = buf; !ret && p;) {
		struct path parent;
		const char *last;
		char *slash = strchr(p, '/');

		if (slash)
			*slash = '\0';
		ret = kmq_parent(s, buf, &parent, &last);
		if (!ret) {
			ret = kmq_mkdir_at(&parent, last);
			path_put(&parent);
		}
		if (slash)
			*slash = '/';
		p = slash ? slash + 1 : NULL;
	}
	revert_creds(old);
	kfree(buf);
	return ret;
}

static int kmq_remove_at(const struct path *parent, const char *name,
			 bool is_dir)
{
	struct inode *dir = d_inode(parent->dentry);
	struct dentry *d;
	int ret;

	ret = mnt_want_write(parent->mnt);
	if (ret)
		return ret;
	inode_lock_nested(dir, I_MUTEX_PARENT);
	d = lookup_one_len(name, parent->dentry, strlen(name));
	if (IS_ERR(d)) {
		ret = PTR_ERR(d);
	} else {
		if (d_is_negative(d))
			ret = -ENOENT;
		else if (is_dir)
			ret = kmq_vfs_rmdir_at(parent->mnt, dir, d);
		else
			ret = kmq_vfs_unlink_at(parent->mnt, dir, d);
		dput(d);
	}
	inode_unlock(dir);
	mnt_drop_write(parent->mnt);
	return ret;
}

static int kmq_remove(struct kmq_kstore *s, const char *rel, bool is_dir)
{
	const struct cred *old = override_creds(s->cred);
	struct path parent;
	const char *last;
	int ret;

	ret = kmq_parent(s, rel, &parent, &last);
	if (!ret) {
		ret = kmq_remove_at(&parent, last, is_dir);
		path_put(&parent);
	}
	revert_creds(old);
	return ret;
}

/**
 * kmq_vfs_unlink() - remove the file @rel.
 * @s: store
 * @rel: path relative to the store's directory
 *
 * Return: 0, or -errno (-ENOENT if absent).
 */
int kmq_vfs_unlink(struct kmq_kstore *s, const char *rel)
{
	return kmq_remove(s, rel, false);
}

struct kmq_rmtree_ctx {
	struct kmq_kstore *s;
	const char *rel;
	int depth;
	int err;
};

static int kmq_rmtree_one(void *arg, const char *name, u32 len,
			  unsigned int type);

static int kmq_rmtree_depth(struct kmq_kstore *s, const char *rel, int depth)
{
	struct kmq_rmtree_ctx c = { .s = s, .rel = rel, .depth = depth };
	int ret;

	if (depth > 8)
		return -ELOOP;
	ret = kmq_vfs_readdir(s, rel, kmq_rmtree_one, &c);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	ret = kmq_remove(s, rel, true);
	return ret == -ENOENT ? 0 : ret;
}

static int kmq_rmtree_one(void *arg, const char *name, u32 len,
			  unsigned int type)
{
	struct kmq_rmtree_ctx *c = arg;
	char *child;
	int ret;

	child = kasprintf(GFP_KERNEL, "%s/%.*s", c->rel, (int)len, name);
	if (!child)
		return -ENOMEM;
	if (type == DT_DIR)
		ret = kmq_rmtree_depth(c->s, child, c->depth + 1);
	else
		ret = kmq_remove(c->s, child, false);
	kfree(child);
	return ret == -ENOENT ? 0 : ret;
}

/**
 * kmq_vfs_rmtree() - remove the directory @rel with everything in it.
 * @s: store
 * @rel: path relative to the store's directory
 *
 * Return: 0 (also when absent), or -errno.
 */
int kmq_vfs_rmtree(struct kmq_kstore *s, const char *rel)
{
	return kmq_rmtree_depth(s, rel, 0);
}

/**
 * kmq_vfs_rename() - rename @from to @to inside the directory @dir,
 * replacing @to if it exists.
 * @s: store
 * @dir: directory relative to the store's, "" for the store's itself
 * @from: current name
 * @to: new name
 *
 * Return: 0 or -errno.
 */
int kmq_vfs_rename(struct kmq_kstore *s, const char *dir, const char *from,
		   const char *to)
{
	const struct cred *old = override_creds(s->cred);
	struct renamedata rd = {};
	struct dentry *od, *nd, *trap;
	struct path p;
	struct file *f;
	int ret;

	f = file_open_root(&s->root, dir[0] ? dir : ".", O_PATH | O_DIRECTORY,
			   0);
	if (IS_ERR(f)) {
		revert_creds(old);
		return PTR_ERR(f);
	}
	p = f->f_path;
	path_get(&p);
	fput(f);
	ret = mnt_want_write(p.mnt);
	if (ret)
		goto out;
	trap = lock_rename(p.dentry, p.dentry);
	if (IS_ERR(trap)) {
		ret = PTR_ERR(trap);
		goto drop;
	}
	od = lookup_one_len(from, p.dentry, strlen(from));
	if (IS_ERR(od)) {
		ret = PTR_ERR(od);
		goto unlock;
	}
	nd = lookup_one_len(to, p.dentry, strlen(to));
	if (IS_ERR(nd)) {
		ret = PTR_ERR(nd);
		goto put_old;
	}
	if (d_is_negative(od)) {
		ret = -ENOENT;
	} else {
		kmq_renamedata_mnt(&rd, p.mnt);
		rd.old_dir = d_inode(p.dentry);
		rd.old_dentry = od;
		rd.new_dir = d_inode(p.dentry);
		rd.new_dentry = nd;
		ret = vfs_rename(&rd);
	}
	dput(nd);
put_old:
	dput(od);
unlock:
	unlock_rename(p.dentry, p.dentry);
drop:
	mnt_drop_write(p.mnt);
out:
	path_put(&p);
	revert_creds(old);
	return ret;
}

/* Names collected by kmq_vfs_readdir(): [type][len][name bytes]... */
struct kmq_dir_ctx {
	struct dir_context ctx;
	char *buf;
	u32 used;
	u32 cap;
	int err;
};

static bool kmq_dir_actor(struct dir_context *ctx, const char *name, int len,
			  loff_t pos, u64 ino, unsigned int type)
{
	struct kmq_dir_ctx *d = container_of(ctx, struct kmq_dir_ctx, ctx);
	u32 need = len + 3;

	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return true;
	if (len > 255) {
		d->err = -ENAMETOOLONG;
		return false;
	}
	if (d->used + need > d->cap) {
		u32 cap = max(d->cap * 2, d->used + need + 1024);
		char *nb = krealloc(d->buf, cap, GFP_KERNEL);

		if (!nb) {
			d->err = -ENOMEM;
			return false;
		}
		d->buf = nb;
		d->cap = cap;
	}
	d->buf[d->used] = (char)type;
	d->buf[d->used + 1] = (char)(len & 0xff);
	d->buf[d->used + 2] = 0;
	memcpy(d->buf + d->used + 3, name, len);
	d->used += need;
	return true;
}

/**
 * kmq_vfs_readdir() - call @fn for each entry of the directory @rel
 * ("." and ".." excepted), after the directory has been read whole, so
 * @fn may change the directory.
 * @s: store
 * @rel: directory relative to the store's
 * @fn: called with the name (not NUL-terminated), its length and DT_*
 * @arg: for @fn
 *
 * Return: 0, the first non-zero return of @fn, or -errno.
 */
int kmq_vfs_readdir(struct kmq_kstore *s, const char *rel, kmq_dir_fn fn,
		    void *arg)
{
	struct kmq_dir_ctx d = { .ctx.actor = kmq_dir_actor };
	const struct cred *old;
	struct file *f;
	u32 pos;
	int ret;

	f = kmq_vfs_open(s, rel, O_RDONLY | O_DIRECTORY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	old = override_creds(s->cred);
	ret = iterate_dir(f, &d.ctx);
	revert_creds(old);
	fput(f);
	if (!ret)
		ret = d.err;
	for (pos = 0; !ret && pos < d.used;) {
		u32 len = (u8)d.buf[pos + 1];

		ret = fn(arg, d.buf + pos + 3, len, (u8)d.buf[pos]);
		pos += len + 3;
	}
	kfree(d.buf);
	return ret;
}

/**
 * kmq_vfs_write() - write all of @buf at @pos.
 * @f: file
 * @buf: bytes
 * @len: their number
 * @pos: file offset
 *
 * Return: 0 or -errno.
 */
int kmq_vfs_write(struct file *f, const void *buf, size_t len, u64 pos)
{
	loff_t p = pos;

	while (len) {
		ssize_t n = kernel_write(f, buf, len, &p);

		if (n < 0)
			return n;
		if (!n)
			return -EIO;
		buf += n;
		len -= n;
	}
	return 0;
}

/**
 * kmq_vfs_read() - read up to @len bytes at @pos.
 * @f: file
 * @buf: destination
 * @len: bytes wanted
 * @pos: file offset
 *
 * Return: bytes read (fewer only at the end of the file), or -errno.
 */
int kmq_vfs_read(struct file *f, void *buf, size_t len, u64 pos)
{
	loff_t p = pos;
	size_t done = 0;

	while (done < len) {
		ssize_t n = kernel_read(f, buf + done, len - done, &p);

		if (n < 0)
			return n;
		if (!n)
			break;
		done += n;
	}
	return done;
}

/**
 * kmq_vfs_fsync_dir() - make the entries of directory @rel durable.
 * @s: store
 * @rel: directory relative to the store's ("." for the store's)
 *
 * Return: 0 or -errno.
 */
int kmq_vfs_fsync_dir(struct kmq_kstore *s, const char *rel)
{
	struct file *f = kmq_vfs_open(s, rel, O_RDONLY | O_DIRECTORY, 0);
	int ret;

	if (IS_ERR(f))
		return PTR_ERR(f);
	ret = vfs_fsync(f, 0);
	fput(f);
	return ret;
}

/**
 * kmq_vfs_write_atomic() - replace @dir/@name by @buf: a temporary file,
 * synced, renamed over, and the directory synced.
 * @s: store
 * @dir: directory relative to the store's
 * @name: file name in @dir
 * @buf: the new content
 * @len: its length
 *
 * Return: 0 or -errno (the old file is then untouched).
 */
int kmq_vfs_write_atomic(struct kmq_kstore *s, const char *dir,
			 const char *name, const void *buf, size_t len)
{
	char *tmp, *tmp_rel;
	struct file *f;
	int ret;

	tmp = kasprintf(GFP_KERNEL, "%s.tmp", name);
	tmp_rel = kasprintf(GFP_KERNEL, "%s/%s.tmp", dir, name);
	if (!tmp || !tmp_rel) {
		ret = -ENOMEM;
		goto out;
	}
	f = kmq_vfs_open(s, tmp_rel, O_WRONLY | O_CREAT | O_TRUNC,
			 KMQ_FILE_MODE);
	if (IS_ERR(f)) {
		ret = PTR_ERR(f);
		goto out;
	}
	ret = kmq_vfs_write(f, buf, len, 0);
	if (!ret)
		ret = vfs_fsync(f, 1);
	fput(f);
	if (!ret)
		ret = kmq_vfs_rename(s, dir, tmp, name);
	if (!ret)
		ret = kmq_vfs_fsync_dir(s, dir);
	else
		kmq_vfs_unlink(s, tmp_rel);
out:
	kfree(tmp);
	kfree(tmp_rel);
	return ret;
}

/**
 * kmq_vfs_zero() - make [@pos, @pos + @len) of @f read as zeros, keeping
 * its blocks allocated: FALLOC_FL_ZERO_RANGE, or punching a hole and
 * allocating it again, or writing zeros.
 * @f: file
 * @pos: first byte
 * @len: bytes
 *
 * Return: 0 or -errno.
 */
int kmq_vfs_zero(struct file *f, u64 pos, u64 len)
{
	void *zero;
	int ret;

	if (!len)
		return 0;
	ret = vfs_fallocate(f, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			    pos, len);
	if (ret != -EOPNOTSUPP)
		return ret;
	ret = vfs_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    pos, len);
	if (!ret) {
		vfs_fallocate(f, 0, pos, len);
		return 0;
	}
	zero = (void *)get_zeroed_page(GFP_KERNEL);
	if (!zero)
		return -ENOMEM;
	ret = 0;
	while (!ret && len) {
		size_t n = min_t(u64, len, PAGE_SIZE);

		ret = kmq_vfs_write(f, zero, n, pos);
		pos += n;
		len -= n;
	}
	free_page((unsigned long)zero);
	return ret;
}

/**
 * kmq_vfs_flock() - take flock(LOCK_EX | LOCK_NB) on @f, as the userspace
 * store does on its "lock" file: one store, one owner. The lock goes
 * with the last reference to @f.
 * @f: the store's lock file
 *
 * Return: 0, -EBUSY when another holder has it, or -errno.
 */
int kmq_vfs_flock(struct file *f)
{
	struct file_lock fl;
	int ret;

	kmq_flock_init(&fl, f);
	ret = locks_lock_file_wait(f, &fl);
	return ret == -EAGAIN ? -EBUSY : ret;
}

/**
 * kmq_vfs_truncate() - set the size of @f, with the store's credentials.
 * @s: store
 * @f: file
 * @size: new size
 *
 * Return: 0 or -errno.
 */
int kmq_vfs_truncate(struct kmq_kstore *s, struct file *f, u64 size)
{
	const struct cred *old = override_creds(s->cred);
	int ret = vfs_truncate(&f->f_path, size);

	revert_creds(old);
	return ret;
}

/**
 * kmq_vfs_size() - the size of @f.
 * @f: file
 *
 * Return: i_size.
 */
u64 kmq_vfs_size(struct file *f)
{
	return i_size_read(file_inode(f));
}

/**
 * kmq_vfs_mtime_ms() - the modification time of @f, in ms since the
 * epoch (0 if it cannot be read).
 * @f: file
 *
 * Return: the time.
 */
u64 kmq_vfs_mtime_ms(struct file *f)
{
	struct kstat st;

	if (vfs_getattr(&f->f_path, &st, STATX_MTIME, AT_STATX_SYNC_AS_STAT))
		return 0;
	if (st.mtime.tv_sec < 0)
		return 0;
	return (u64)st.mtime.tv_sec * MSEC_PER_SEC +
	       st.mtime.tv_nsec / NSEC_PER_MSEC;
}

/**
 * kmq_vfs_folio() - the uptodate page-cache folio of @f holding byte
 * @pos, read in (or, on tmpfs, made) if it is not cached.
 * @f: a file of a filesystem kmq_vfs_paged() accepts
 * @pos: file offset
 *
 * Return: the folio (folio_put() it), or an ERR_PTR.
 */
struct folio *kmq_vfs_folio(struct file *f, u64 pos)
{
	struct address_space *m = f->f_mapping;
	pgoff_t idx = pos >> PAGE_SHIFT;
	struct page *page;

	if (m->a_ops->read_folio)
		return read_mapping_folio(m, idx, f);
	/*
	 * tmpfs has no ->read_folio (read_mapping_folio() would call a NULL
	 * pointer): shmem finds, or zeroes, its pages itself.
	 */
	if (file_inode(f)->i_sb->s_magic != TMPFS_MAGIC)
		return ERR_PTR(-EOPNOTSUPP);
	page = shmem_read_mapping_page_gfp(m, idx, mapping_gfp_mask(m));
	if (IS_ERR(page))
		return ERR_CAST(page);
	return page_folio(page);
}

/**
 * kmq_vfs_paged() - whether kmq_vfs_folio() can reach @f's pages: its
 * filesystem reads folios in (ext4, xfs...) or is tmpfs.
 * @f: file
 *
 * Return: true if so.
 */
bool kmq_vfs_paged(struct file *f)
{
	return f->f_mapping->a_ops->read_folio ||
	       file_inode(f)->i_sb->s_magic == TMPFS_MAGIC;
}

typedef int (*kmq_piece_fn)(void *arg, const void *src, size_t len);

/* Hand [@pos, @pos + @len) of @f's page cache to @fn, a page at most each. */
static int kmq_vfs_pieces(struct file *f, u64 pos, size_t len,
			  kmq_piece_fn fn, void *arg)
{
	while (len) {
		struct folio *folio = kmq_vfs_folio(f, pos);
		size_t off, n;
		int ret = 0;

		if (IS_ERR(folio))
			return PTR_ERR(folio);
		off = offset_in_folio(folio, pos);
		n = min_t(size_t, len, folio_size(folio) - off);
		len -= n;
		pos += n;
		while (n && !ret) {
			size_t chunk = min_t(size_t, n,
					     PAGE_SIZE - offset_in_page(off));
			void *src = kmap_local_folio(folio, off);

			ret = fn(arg, src, chunk);
			kunmap_local(src);
			off += chunk;
			n -= chunk;
		}
		folio_put(folio);
		if (ret)
			return ret;
	}
	return 0;
}

static int kmq_piece_to_user(void *arg, const void *src, size_t len)
{
	u8 __user **dst = arg;

	if (copy_to_user(*dst, src, len))
		return -EFAULT;
	*dst += len;
	return 0;
}

static int kmq_piece_to_buf(void *arg, const void *src, size_t len)
{
	u8 **dst = arg;

	memcpy(*dst, src, len);
	*dst += len;
	return 0;
}

/**
 * kmq_vfs_copy_to_user() - copy @len bytes of @f at @pos from the page
 * cache to userspace, reading what is not cached.
 * @f: file
 * @pos: file offset
 * @dst: user destination
 * @len: bytes
 *
 * Return: 0, -EFAULT, or the read error.
 */
int kmq_vfs_copy_to_user(struct file *f, u64 pos, void __user *dst,
			 size_t len)
{
	u8 __user *d = dst;

	return kmq_vfs_pieces(f, pos, len, kmq_piece_to_user, &d);
}

/**
 * kmq_vfs_peek() - copy @len bytes of @f at @pos from the page cache,
 * reading what is not cached: kmq_vfs_read() without the VFS read path,
 * for the few bytes of a consume-queue entry or a record's header.
 * @f: file
 * @pos: file offset
 * @buf: destination
 * @len: bytes (the file holds them: no short read)
 *
 * Return: 0 or the read error.
 */
int kmq_vfs_peek(struct file *f, u64 pos, void *buf, size_t len)
{
	u8 *d = buf;

	return kmq_vfs_pieces(f, pos, len, kmq_piece_to_buf, &d);
}
